//! skiff-scheduler (see ARCHITECTURE.md).
