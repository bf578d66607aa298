//! skiff-store (see ARCHITECTURE.md).
