//! skiff-controllers (see ARCHITECTURE.md).
