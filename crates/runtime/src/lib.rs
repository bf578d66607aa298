//! skiff-runtime (see ARCHITECTURE.md).
