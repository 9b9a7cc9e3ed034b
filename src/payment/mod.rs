//! Payment primitives: BOLT 4 onions (with failure attribution) and BOLT 11
//! invoices. Both are pure transformations over bytes and strings, facing
//! hostile input: every decoder returns a typed error and never panics.
//!
//! - [`onion`]: Sphinx packets, hop payloads, failure messages and the
//!   encrypted failure packets that travel back to the sender.
//! - [`invoice`]: `Bolt11Invoice` (parse, print, verify) and `InvoiceBuilder`.
//! - [`fuzz`]: fuzz entry points for the decoders above.

pub mod fuzz;
pub mod invoice;
pub mod onion;
