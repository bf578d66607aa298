//! skiff-kubelet (see ARCHITECTURE.md).
