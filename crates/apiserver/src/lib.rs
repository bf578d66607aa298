//! skiff-apiserver (see ARCHITECTURE.md).
