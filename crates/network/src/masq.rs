//! The masquerade rules of a host-gw node (flannel's): traffic between pods keeps its
//! source address, traffic from pods leaving the cluster CIDR takes the node's.

/// The `nat` chain the rules sit in.
pub const CHAIN: &str = "POSTROUTING";

/// The comment marking this node's rules, so teardown (`scripts/killall.sh`) finds them.
pub fn comment(tag: &str) -> String {
    format!("skiff pod network {tag}")
}

/// The rules, as `iptables -t nat -A POSTROUTING …` arguments, in order: pod to pod
/// returns unchanged; pod to anything outside the cluster (multicast aside) is
/// masqueraded.
pub fn rules(cluster_cidr: &str, tag: &str) -> Vec<Vec<String>> {
    let comment = comment(tag);
    let rule = |tail: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["-s", cluster_cidr].iter().map(|s| s.to_string()).collect();
        args.extend(tail.iter().map(|s| s.to_string()));
        args.extend(["-m", "comment", "--comment"].map(String::from));
        args.push(comment.clone());
        args
    };
    vec![
        {
            let mut r = rule(&["-d", cluster_cidr]);
            r.extend(["-j", "RETURN"].map(String::from));
            r
        },
        {
            let mut r = rule(&["!", "-d", "224.0.0.0/4"]);
            r.extend(["-j", "MASQUERADE", "--random-fully"].map(String::from));
            r
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_to_pod_returns_before_the_masquerade() {
        let got = rules("10.21.0.0/16", "skmn3");
        let want: Vec<Vec<&str>> = vec![
            vec![
                "-s",
                "10.21.0.0/16",
                "-d",
                "10.21.0.0/16",
                "-m",
                "comment",
                "--comment",
                "skiff pod network skmn3",
                "-j",
                "RETURN",
            ],
            vec![
                "-s",
                "10.21.0.0/16",
                "!",
                "-d",
                "224.0.0.0/4",
                "-m",
                "comment",
                "--comment",
                "skiff pod network skmn3",
                "-j",
                "MASQUERADE",
                "--random-fully",
            ],
        ];
        assert_eq!(got, want);
    }
}
