//! Label and field selectors: parsing, matching and printing like upstream's `labels` and `fields` packages,
//! and `metav1.LabelSelector` (typed or JSON) as a selector.

mod field;
mod label;
mod lexer;
mod metav1;

pub use field::{supported_field_labels, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};
pub use metav1::typed_selector_matches;

/// A selector could not be parsed or uses an unsupported field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Label selector syntax error; the text is upstream's message.
    #[error("{0}")]
    Parse(String),
    /// A field selector names a field the resource does not index.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
    /// A field selector term could not be split into field, operator and value.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidFieldTerm {
        /// The whole selector.
        selector: String,
        /// The offending term.
        term: String,
    },
}
