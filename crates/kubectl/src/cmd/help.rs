//! Command names and short help texts.

/// Every top-level kubectl command name (for "unknown command" suggestions).
pub const ALL_COMMANDS: &[&str] = &[
    "annotate",
    "api-resources",
    "api-versions",
    "apply",
    "attach",
    "auth",
    "autoscale",
    "certificate",
    "cluster-info",
    "completion",
    "config",
    "cordon",
    "cp",
    "create",
    "debug",
    "delete",
    "describe",
    "diff",
    "drain",
    "edit",
    "events",
    "exec",
    "explain",
    "expose",
    "get",
    "help",
    "kustomize",
    "label",
    "logs",
    "options",
    "patch",
    "plugin",
    "port-forward",
    "proxy",
    "replace",
    "rollout",
    "run",
    "scale",
    "set",
    "taint",
    "top",
    "uncordon",
    "version",
    "wait",
];

/// Printed by `kubectl` with no command.
pub const ROOT_HELP: &str = "kubectl controls the Kubernetes cluster manager.\n\n Find more information at: https://kubernetes.io/docs/reference/kubectl/\n\nUsage:\n  kubectl [flags] [options]\n\nUse \"kubectl <command> --help\" for more information about a given command.\nUse \"kubectl options\" for a list of global command-line options (applies to all commands).\n";

/// Printed by `kubectl config` with no subcommand.
pub const CONFIG_HELP: &str = "Modify kubeconfig files using subcommands like \"kubectl config set current-context my-context\".\n\nUsage:\n  kubectl config SUBCOMMAND [options]\n\nUse \"kubectl config <command> --help\" for more information about a given command.\n";
