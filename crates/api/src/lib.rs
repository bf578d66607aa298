//! skiff-api (see ARCHITECTURE.md).
