//! Live differential test of YAML 1.1 scalars in manifests: kubectl reads YAML with
//! go-yaml v2, so unquoted `y`, `yes`, `on`, `No`, `OFF` are booleans (`labels: {x: y}`
//! fails to decode), `0777` is octal and `1_000` is 1000, and quoted values stay strings.

mod live;

use live::Server;

const MANIFESTS: &[(&str, &str)] = &[
    (
        "labels.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yy\n  labels: {x: y}\ndata: {a: b}\n",
    ),
    (
        "annotations.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yy\n  annotations: {b: \"1\", a: 2}\n",
    ),
    (
        "scalars.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: yp\n  labels: {q: \"yes\", r: 'on'}\nspec:\n  containers:\n  - name: c\n    image: x\n    tty: yes\n    stdin: On\n    args: [y, n, NO, off, 0777, 0x1F, 1_000, 1.50, 1e3, 2026-01-01, ~, \"y\"]\n    env:\n    - {name: A, value: |\n        yes\n      }\n",
    ),
    (
        "quoted.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yq\n  labels: {x: \"y\"}\ndata: {a: \"on\", b: 'No', c: \"1\"}\n",
    ),
];

#[test]
fn yaml_1_1_scalars_match_real_kubectl() {
    let Some(s) = Server::start() else { return };
    let mut diffs = Vec::new();
    for (name, text) in MANIFESTS {
        let path = s.dir.path().join(name);
        let _ = std::fs::write(&path, text);
        let f = path.display().to_string();
        for args in [
            vec!["apply", "-f", &f, "--dry-run=client", "-o", "json"],
            vec!["create", "-f", &f, "--dry-run=client", "-o", "yaml"],
            vec!["create", "-f", &f, "--dry-run=server", "-o", "name"],
        ] {
            if let Some(d) = s.diff(&args) {
                diffs.push(d);
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
