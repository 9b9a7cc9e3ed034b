//! Payment primitives: BOLT 4 onions (with failure attribution) and BOLT 11
//! invoices. Both are pure transformations over bytes and strings, facing
//! hostile input: every decoder returns a typed error and never panics.
//!
//! - [`onion`]: Sphinx packets, hop payloads, failure messages and the
//!   encrypted failure packets that travel back to the sender.
//! - [`invoice`]: `Bolt11Invoice` (parse, print, verify) and `InvoiceBuilder`.
//! - [`inbound`]: stateless inbound payments (secrets that carry their own
//!   metadata) and invoice creation.
//! - [`outbound`]: the onion for one path of a payment, and reading the
//!   failure that comes back.
//! - [`receive`]: peeling and checking an incoming HTLC, and failing it back.
//! - [`fuzz`]: fuzz entry points for the decoders above.

pub mod fuzz;
pub mod inbound;
pub mod invoice;
pub mod onion;
pub mod outbound;
pub mod receive;
