//! skiff-kubectl (see ARCHITECTURE.md).
