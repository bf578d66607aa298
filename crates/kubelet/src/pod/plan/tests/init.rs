//! Init containers: one at a time, in order, each to success; failures by
//! restart policy; a new sandbox starts over.

use super::*;

#[test]
fn init_containers_run_one_at_a_time_in_order() {
    type Mutate = fn(&mut RuntimePod);
    let cases: Vec<(&str, &str, Mutate, Shape)> = vec![
        (
            "initialization completed; start all containers",
            "Always",
            |_| {},
            (false, false, 0, vec![], vec![], None, vec![0, 1, 2]),
        ),
        (
            "no init containers have been started; start the first one",
            "Always",
            |rt| rt.containers.clear(),
            (false, false, 0, vec![], vec![], Some(0), vec![]),
        ),
        (
            "initialization in progress; do nothing",
            "Always",
            |rt| set(rt, "init3", State::Running, 0),
            (false, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "the first one succeeded; start the second",
            "Always",
            |rt| rt.containers.retain(|c| c.name == "init1"),
            (false, false, 0, vec![], vec![], Some(1), vec![]),
        ),
        (
            "kill pod and restart the first init container if the sandbox is dead",
            "Always",
            |rt| rt.sandboxes[0].ready = false,
            (
                true,
                true,
                1,
                vec![],
                ids(&["init1-id", "init2-id", "init3-id"]),
                Some(0),
                vec![],
            ),
        ),
        (
            "initialization failed; restart the last init container (Always)",
            "Always",
            |rt| set(rt, "init3", State::Exited, 137),
            (false, false, 0, vec![], vec![], Some(2), vec![]),
        ),
        (
            "initialization failed; restart the last init container (OnFailure)",
            "OnFailure",
            |rt| set(rt, "init3", State::Exited, 137),
            (false, false, 0, vec![], vec![], Some(2), vec![]),
        ),
        (
            "initialization failed; kill pod (Never)",
            "Never",
            |rt| set(rt, "init3", State::Exited, 137),
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "init container state unknown; kill and recreate it (Always)",
            "Always",
            |rt| set(rt, "init3", State::Unknown, 0),
            (false, false, 0, ids(&["init3-id"]), vec![], Some(2), vec![]),
        ),
        (
            "init container state unknown; kill pod (Never)",
            "Never",
            |rt| set(rt, "init3", State::Unknown, 0),
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "an OOM-killed init container failed even with exit code 0",
            "Never",
            |rt| {
                rt.containers[2].reason = "OOMKilled".into();
            },
            (true, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "sandbox not ready, init failed, Never; kill pod only",
            "Never",
            |rt| rt.sandboxes[0].ready = false,
            (true, false, 1, vec![], vec![], None, vec![]),
        ),
        (
            "sandbox not ready, Never, no visible init containers; new sandbox",
            "Never",
            |rt| {
                rt.sandboxes[0].ready = false;
                rt.containers.clear();
            },
            (true, true, 1, vec![], vec![], Some(0), vec![]),
        ),
        (
            "sandbox not ready, init failed, OnFailure; new sandbox",
            "OnFailure",
            |rt| {
                rt.sandboxes[0].ready = false;
                set(rt, "init3", State::Exited, 137);
            },
            (
                true,
                true,
                1,
                vec![],
                ids(&["init1-id", "init2-id", "init3-id"]),
                Some(0),
                vec![],
            ),
        ),
        (
            "earlier statuses missing but the last init container runs; wait",
            "Always",
            |rt| {
                rt.containers.retain(|c| c.name == "init3");
                set(rt, "init3", State::Running, 0);
            },
            (false, false, 0, vec![], vec![], None, vec![]),
        ),
        (
            "a created, never started init container is started again",
            "Always",
            |rt| {
                rt.containers.retain(|c| c.name != "init3");
                set(rt, "init2", State::Created, 0);
            },
            (false, false, 0, vec![], vec![], Some(1), vec![]),
        ),
    ];
    for (desc, policy, mutate, want) in cases {
        let p = pod(policy, true);
        let mut rt = runtime(&p, true);
        mutate(&mut rt);
        assert_eq!(shape(&plan(&p, &rt)), want, "{desc}");
    }
}

#[test]
fn a_running_app_container_means_initialisation_is_done() {
    // the init containers' instances were removed since
    let p = pod("Always", true);
    let mut rt = runtime(&p, false);
    set(&mut rt, "foo3", State::Exited, 1);
    assert_eq!(
        shape(&plan(&p, &rt)),
        (false, false, 0, vec![], vec![], None, vec![2])
    );
}
