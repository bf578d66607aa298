//! kubectl ≥ 1.31 sends typed-client bodies as application/vnd.kubernetes.protobuf: the
//! imperative `create` commands must store the same objects a JSON client would.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_protobuf_bodies_are_accepted() {
    let t = common::start_server().await;
    let out = t
        .ok(&[
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=0",
        ])
        .await;
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let out = t
        .ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas}/{.spec.template.spec.containers[0].image}/{.metadata.labels.app}/{.spec.strategy.type}",
        ])
        .await;
    assert_eq!(out, "0/nginx/web/RollingUpdate");

    let out = t.ok(&["create", "namespace", "demo"]).await;
    assert!(out.contains("namespace/demo created"), "{out}");
    let out = t
        .ok(&["get", "ns", "demo", "-o", "jsonpath={.status.phase}"])
        .await;
    assert_eq!(out, "Active");

    let out = t
        .ok(&[
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=b",
            "--from-literal=empty=",
        ])
        .await;
    assert!(out.contains("configmap/cfg created"), "{out}");
    let out = t
        .ok(&[
            "get",
            "cm",
            "cfg",
            "-o",
            "go-template={{.data.a}}|{{.data.empty}}|",
        ])
        .await;
    assert_eq!(out, "b||");

    let out = t
        .ok(&[
            "create",
            "secret",
            "generic",
            "sec",
            "--from-literal=password=s3cr3t",
        ])
        .await;
    assert!(out.contains("secret/sec created"), "{out}");
    let out = t
        .ok(&[
            "get",
            "secret",
            "sec",
            "-o",
            "jsonpath={.data.password}/{.type}",
        ])
        .await;
    assert_eq!(out, "czNjcjN0/Opaque");

    let out = t
        .ok(&["create", "service", "clusterip", "s", "--tcp=80:8080"])
        .await;
    assert!(out.contains("service/s created"), "{out}");
    let out = t
        .ok(&[
            "get",
            "svc",
            "s",
            "-o",
            "jsonpath={.spec.ports[0].port}/{.spec.ports[0].targetPort}/{.spec.ports[0].protocol}/{.spec.type}",
        ])
        .await;
    assert_eq!(out, "80/8080/TCP/ClusterIP");

    let out = t.ok(&["run", "p", "--image=busybox"]).await;
    assert!(out.contains("pod/p created"), "{out}");
    let out = t
        .ok(&[
            "get",
            "pod",
            "p",
            "-o",
            "jsonpath={.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(out, "busybox");
    t.server.shutdown().await;
}
