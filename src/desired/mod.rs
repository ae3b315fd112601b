//! What the rules want beyond a repository's own policy: the registry policy's statements, the
//! creation templates, and which rule explains a grant found in a document. Pure.

pub(crate) mod grants;
pub(crate) mod registry;
pub(crate) mod templates;
