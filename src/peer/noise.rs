//! BOLT 8 transport: the `Noise_XK_secp256k1_ChaChaPoly_SHA256` handshake
//! (initiator and responder) and the encrypted message stream that follows.
//!
//! The handshake types take the exact act bytes and return the next act or
//! a typed [`NoiseError`]; [`NoiseSession`] wraps them for a byte stream that
//! may arrive in any split. [`Transport`] seals and opens messages in place
//! (length and body sealed separately, key rotation every 1,000 nonces).

use super::aead::{bolt8_nonce, Bolt8Cipher, ChaCha20Poly1305};
use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use core::fmt;

/// Length of Act One (`0 || e.pub || c`).
pub const ACT_ONE_LEN: usize = 50;
/// Length of Act Two (`0 || e.pub || c`).
pub const ACT_TWO_LEN: usize = 50;
/// Length of Act Three (`0 || c || t`).
pub const ACT_THREE_LEN: usize = 66;
/// Length of a Poly1305 tag.
pub const MAC_LEN: usize = 16;
/// Length of an encrypted length prefix (2 bytes + MAC).
pub const LENGTH_HEADER_LEN: usize = 2 + MAC_LEN;
/// BOLT 8: "The *maximum* size of _any_ Lightning message MUST NOT exceed `65535` bytes."
pub const MAX_MESSAGE_LEN: usize = 65535;
/// Largest packet on the wire: `2 + 16 + 65535 + 16`.
pub const MAX_PACKET_LEN: usize = LENGTH_HEADER_LEN + MAX_MESSAGE_LEN + MAC_LEN;
/// BOLT 8 key rotation: a key is rotated once its nonce reaches 1000.
pub const KEY_ROTATION_INDEX: u64 = 1000;

const PROTOCOL_NAME: &[u8] = b"Noise_XK_secp256k1_ChaChaPoly_SHA256";
const PROLOGUE: &[u8] = b"lightning";

/// Why a handshake or a transport operation failed. Each variant names the
/// BOLT 8 requirement it enforces; [`NoiseError::tag`] gives a stable tag.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoiseError {
    /// An act was not exactly its length (spec label `ACTn_READ_FAILED`).
    ActReadFailed {
        /// Which act (1, 2 or 3).
        act: u8,
        /// How many bytes were given.
        got: usize,
    },
    /// The act's version byte was not 0 (spec label `ACTn_BAD_VERSION`).
    BadVersion {
        /// Which act.
        act: u8,
        /// The version byte received.
        version: u8,
    },
    /// The act carried an invalid public key (spec label `ACTn_BAD_PUBKEY`).
    BadPubkey {
        /// Which act.
        act: u8,
    },
    /// Act three's encrypted static key failed its MAC (`ACT3_BAD_CIPHERTEXT`).
    BadCiphertext,
    /// The act's MAC did not verify (spec label `ACTn_BAD_TAG`).
    BadTag {
        /// Which act.
        act: u8,
    },
    /// The encrypted length prefix of a message failed its MAC.
    BadLengthMac,
    /// The encrypted body of a message failed its MAC.
    BadMessageMac,
    /// A message to send was longer than 65,535 bytes.
    MessageTooLong(usize),
    /// Our static key could not do ECDH (the key source failed).
    KeyFailure,
    /// A message was to be sealed before the handshake finished.
    HandshakeIncomplete,
}

impl NoiseError {
    /// A stable tag naming the BOLT 8 requirement, used in logs and tests.
    pub fn tag(&self) -> &'static str {
        match self {
            NoiseError::ActReadFailed { .. } => "bolt8-act-length",
            NoiseError::BadVersion { .. } => "bolt8-act-version",
            NoiseError::BadPubkey { .. } => "bolt8-act-pubkey",
            NoiseError::BadCiphertext => "bolt8-act3-ciphertext-mac",
            NoiseError::BadTag { .. } => "bolt8-act-mac",
            NoiseError::BadLengthMac => "bolt8-length-mac",
            NoiseError::BadMessageMac => "bolt8-message-mac",
            NoiseError::MessageTooLong(_) => "bolt8-max-message-size",
            NoiseError::KeyFailure => "bolt8-static-key",
            NoiseError::HandshakeIncomplete => "bolt8-handshake-incomplete",
        }
    }
}

impl fmt::Display for NoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoiseError::ActReadFailed { act, got } => {
                write!(f, "act {act} has wrong length {got}")
            }
            NoiseError::BadVersion { act, version } => {
                write!(f, "act {act} has unknown handshake version {version}")
            }
            NoiseError::BadPubkey { act } => write!(f, "act {act} carries an invalid public key"),
            NoiseError::BadCiphertext => f.write_str("act 3 static key ciphertext failed its mac"),
            NoiseError::BadTag { act } => write!(f, "act {act} failed its mac"),
            NoiseError::BadLengthMac => f.write_str("message length prefix failed its mac"),
            NoiseError::BadMessageMac => f.write_str("message body failed its mac"),
            NoiseError::MessageTooLong(l) => write!(f, "message of {l} bytes exceeds 65535"),
            NoiseError::KeyFailure => f.write_str("our static key could not perform ecdh"),
            NoiseError::HandshakeIncomplete => f.write_str("the handshake is not finished"),
        }
    }
}

impl std::error::Error for NoiseError {}

/// The node's static key as the handshake needs it: its public key and ECDH
/// with it. Implemented by [`StaticKey`]; a `NodeSigner` adapter can
/// implement it too so the secret never leaves the signer.
pub trait StaticKeyEcdh {
    /// Our static (node) public key.
    fn public_key(&self) -> PublicKey;
    /// `SHA-256` of the compressed point `other * our_secret` (BOLT 8 `ECDH`).
    fn ecdh(&self, other: &PublicKey) -> Result<[u8; 32], NoiseError>;
}

/// A static key held in memory, with its public key computed once.
#[derive(Clone)]
pub struct StaticKey {
    secret: SecretKey,
    public: PublicKey,
}

impl StaticKey {
    /// Wraps a secret key, deriving its public key.
    pub fn new<C: Signing>(secp: &Secp256k1<C>, secret: SecretKey) -> Self {
        StaticKey {
            public: PublicKey::from_secret_key(secp, &secret),
            secret,
        }
    }
    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticKey({})", self.public)
    }
}

impl StaticKeyEcdh for StaticKey {
    fn public_key(&self) -> PublicKey {
        self.public
    }
    fn ecdh(&self, other: &PublicKey) -> Result<[u8; 32], NoiseError> {
        Ok(SharedSecret::new(other, &self.secret).secret_bytes())
    }
}

/// BOLT 8 `ECDH(k, rk)`: SHA-256 of the compressed point.
fn ecdh(secret: &SecretKey, point: &PublicKey) -> [u8; 32] {
    SharedSecret::new(point, secret).secret_bytes()
}

fn sha256_concat(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut e = sha256::Hash::engine();
    e.input(a);
    e.input(b);
    sha256::Hash::from_engine(e).to_byte_array()
}

/// BOLT 8 `HKDF(salt, ikm)`: RFC 5869 with an empty `info`, 64 bytes out,
/// split into two 32-byte keys.
pub fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut e = HmacEngine::<sha256::Hash>::new(salt);
    e.input(ikm);
    let prk = Hmac::<sha256::Hash>::from_engine(e).to_byte_array();
    let mut e = HmacEngine::<sha256::Hash>::new(&prk);
    e.input(&[1]);
    let t1 = Hmac::<sha256::Hash>::from_engine(e).to_byte_array();
    let mut e = HmacEngine::<sha256::Hash>::new(&prk);
    e.input(&t1);
    e.input(&[2]);
    let t2 = Hmac::<sha256::Hash>::from_engine(e).to_byte_array();
    (t1, t2)
}

/// `encryptWithAD(k, n, ad, plaintext)` for the handshake: `buf` holds the
/// plaintext followed by 16 bytes of room for the tag.
fn encrypt_with_ad(k: &[u8; 32], n: u64, ad: &[u8], buf: &mut [u8]) {
    let split = buf.len() - MAC_LEN;
    let (msg, tag_out) = buf.split_at_mut(split);
    let tag = ChaCha20Poly1305::new(k)
        .seal(&bolt8_nonce(n), ad, msg)
        .expect("a handshake plaintext is far below the aead length limit");
    tag_out.copy_from_slice(&tag);
}

/// `decryptWithAD(k, n, ad, ciphertext)`: `buf` holds ciphertext then tag;
/// on success the plaintext is in `buf[..len-16]`.
fn decrypt_with_ad(k: &[u8; 32], n: u64, ad: &[u8], buf: &mut [u8]) -> Result<(), ()> {
    let split = buf.len() - MAC_LEN;
    let (msg, tag) = buf.split_at_mut(split);
    let tag: [u8; MAC_LEN] = (&*tag).try_into().map_err(|_| ())?;
    ChaCha20Poly1305::new(k)
        .open(&bolt8_nonce(n), ad, msg, &tag)
        .map_err(|_| ())
}

/// The handshake hash `h` and chaining key `ck` after the prologue, before
/// mixing in the responder's static key.
fn initial_state() -> ([u8; 32], [u8; 32]) {
    let h = sha256::Hash::hash(PROTOCOL_NAME).to_byte_array();
    let ck = h;
    let h = sha256_concat(&h, PROLOGUE);
    (h, ck)
}

/// Parses a 33-byte compressed point from an act; `act` names it in the error.
fn parse_point(bytes: &[u8], act: u8) -> Result<PublicKey, NoiseError> {
    // BOLT 8: "If `re` does not represent a valid point, the responder MUST abort".
    PublicKey::from_slice(bytes).map_err(|_| NoiseError::BadPubkey { act })
}

/// The initiator's state after sending Act One, waiting for Act Two.
pub struct Initiator {
    h: [u8; 32],
    ck: [u8; 32],
    e: SecretKey,
    their_static: PublicKey,
}

impl fmt::Debug for Initiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Initiator(to {})", self.their_static)
    }
}

impl Initiator {
    /// Starts a handshake to `their_static` with the ephemeral key
    /// `ephemeral` (fresh randomness: BOLT 8 `generateKey()`), returning the
    /// state and Act One.
    pub fn new<C: Signing>(
        secp: &Secp256k1<C>,
        their_static: PublicKey,
        ephemeral: SecretKey,
    ) -> (Self, [u8; ACT_ONE_LEN]) {
        let (h, ck) = initial_state();
        // h = SHA-256(h || rs.pub.serializeCompressed())
        let h = sha256_concat(&h, &their_static.serialize());
        let e_pub = PublicKey::from_secret_key(secp, &ephemeral).serialize();
        // Act One, sender actions 2-6.
        let h = sha256_concat(&h, &e_pub);
        let es = ecdh(&ephemeral, &their_static);
        let (ck, temp_k1) = hkdf(&ck, &es);
        let mut act = [0u8; ACT_ONE_LEN];
        act[1..34].copy_from_slice(&e_pub);
        encrypt_with_ad(&temp_k1, 0, &h, &mut act[34..]);
        let h = sha256_concat(&h, &act[34..]);
        (
            Initiator {
                h,
                ck,
                e: ephemeral,
                their_static,
            },
            act,
        )
    }

    /// The responder's static key this handshake is addressed to.
    pub fn their_node_id(&self) -> PublicKey {
        self.their_static
    }

    /// Processes Act Two and produces Act Three and the transport keys.
    pub fn process_act_two(
        self,
        act: &[u8],
        our_static: &dyn StaticKeyEcdh,
    ) -> Result<([u8; ACT_THREE_LEN], Transport), NoiseError> {
        // BOLT 8 Act Two receiver 1: "Read _exactly_ 50 bytes".
        if act.len() != ACT_TWO_LEN {
            return Err(NoiseError::ActReadFailed {
                act: 2,
                got: act.len(),
            });
        }
        // 3: "If `v` is an unrecognized handshake version, then the responder MUST abort".
        if act[0] != 0 {
            return Err(NoiseError::BadVersion {
                act: 2,
                version: act[0],
            });
        }
        let re = parse_point(&act[1..34], 2)?;
        let h = sha256_concat(&self.h, &act[1..34]);
        let ee = ecdh(&self.e, &re);
        let (ck, temp_k2) = hkdf(&self.ck, &ee);
        let mut c = [0u8; MAC_LEN];
        c.copy_from_slice(&act[34..50]);
        // 7: "If the MAC check in this operation fails, then the initiator MUST
        // terminate the connection without any further messages."
        decrypt_with_ad(&temp_k2, 0, &h, &mut c).map_err(|_| NoiseError::BadTag { act: 2 })?;
        let h = sha256_concat(&h, &act[34..50]);

        // Act Three, sender actions.
        let mut out = [0u8; ACT_THREE_LEN];
        out[1..34].copy_from_slice(&our_static.public_key().serialize());
        encrypt_with_ad(&temp_k2, 1, &h, &mut out[1..50]);
        let h = sha256_concat(&h, &out[1..50]);
        let se = our_static.ecdh(&re)?;
        let (ck, temp_k3) = hkdf(&ck, &se);
        encrypt_with_ad(&temp_k3, 0, &h, &mut out[50..66]);
        let (sk, rk) = hkdf(&ck, &[]);
        Ok((out, Transport::new(ck, sk, rk)))
    }
}

/// The responder's handshake state (waiting for Act One, then Act Three).
pub struct Responder {
    h: [u8; 32],
    ck: [u8; 32],
    e: SecretKey,
    e_pub: [u8; 33],
    /// Set once Act One is processed: the initiator's ephemeral key and `temp_k2`.
    after_act_one: Option<(PublicKey, [u8; 32])>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Responder(act one done: {})",
            self.after_act_one.is_some()
        )
    }
}

impl Responder {
    /// Prepares to answer a handshake with our static public key and a fresh
    /// ephemeral key.
    pub fn new<C: Signing>(
        secp: &Secp256k1<C>,
        our_static_pub: &PublicKey,
        ephemeral: SecretKey,
    ) -> Self {
        let (h, ck) = initial_state();
        let h = sha256_concat(&h, &our_static_pub.serialize());
        let e_pub = PublicKey::from_secret_key(secp, &ephemeral).serialize();
        Responder {
            h,
            ck,
            e: ephemeral,
            e_pub,
            after_act_one: None,
        }
    }

    /// Processes Act One and produces Act Two.
    pub fn process_act_one(
        &mut self,
        act: &[u8],
        our_static: &dyn StaticKeyEcdh,
    ) -> Result<[u8; ACT_TWO_LEN], NoiseError> {
        // BOLT 8 Act One receiver 1: "Read _exactly_ 50 bytes".
        if act.len() != ACT_ONE_LEN {
            return Err(NoiseError::ActReadFailed {
                act: 1,
                got: act.len(),
            });
        }
        // 3: unrecognized handshake version: "the responder MUST abort".
        if act[0] != 0 {
            return Err(NoiseError::BadVersion {
                act: 1,
                version: act[0],
            });
        }
        let re = parse_point(&act[1..34], 1)?;
        let h = sha256_concat(&self.h, &act[1..34]);
        let es = our_static.ecdh(&re)?;
        let (ck, temp_k1) = hkdf(&self.ck, &es);
        let mut c = [0u8; MAC_LEN];
        c.copy_from_slice(&act[34..50]);
        // 7: "If the MAC check in this operation fails, then the responder MUST
        // terminate the connection without any further messages."
        decrypt_with_ad(&temp_k1, 0, &h, &mut c).map_err(|_| NoiseError::BadTag { act: 1 })?;
        let h = sha256_concat(&h, &act[34..50]);

        // Act Two, sender actions.
        let h = sha256_concat(&h, &self.e_pub);
        let ee = ecdh(&self.e, &re);
        let (ck, temp_k2) = hkdf(&ck, &ee);
        let mut out = [0u8; ACT_TWO_LEN];
        out[1..34].copy_from_slice(&self.e_pub);
        encrypt_with_ad(&temp_k2, 0, &h, &mut out[34..]);
        self.h = sha256_concat(&h, &out[34..]);
        self.ck = ck;
        self.after_act_one = Some((re, temp_k2));
        Ok(out)
    }

    /// Processes Act Three: returns the initiator's static key and the
    /// transport keys.
    pub fn process_act_three(self, act: &[u8]) -> Result<(PublicKey, Transport), NoiseError> {
        let (_re, temp_k2) = match self.after_act_one {
            Some(s) => s,
            // Act Three before Act One: treat as a malformed act.
            None => {
                return Err(NoiseError::ActReadFailed {
                    act: 1,
                    got: act.len(),
                })
            }
        };
        // Act Three receiver 1: "Read _exactly_ 66 bytes".
        if act.len() != ACT_THREE_LEN {
            return Err(NoiseError::ActReadFailed {
                act: 3,
                got: act.len(),
            });
        }
        // 3: unrecognized handshake version: "the responder MUST abort".
        if act[0] != 0 {
            return Err(NoiseError::BadVersion {
                act: 3,
                version: act[0],
            });
        }
        let mut c = [0u8; 49];
        c.copy_from_slice(&act[1..50]);
        // 4: rs = decryptWithAD(temp_k2, 1, h, c); a MAC failure aborts.
        decrypt_with_ad(&temp_k2, 1, &self.h, &mut c).map_err(|_| NoiseError::BadCiphertext)?;
        let rs = parse_point(&c[..33], 3)?;
        let h = sha256_concat(&self.h, &act[1..50]);
        let se = ecdh(&self.e, &rs);
        let (ck, temp_k3) = hkdf(&self.ck, &se);
        let mut t = [0u8; MAC_LEN];
        t.copy_from_slice(&act[50..66]);
        // 8: "If the MAC check in this operation fails, then the responder MUST
        // terminate the connection without any further messages."
        decrypt_with_ad(&temp_k3, 0, &h, &mut t).map_err(|_| NoiseError::BadTag { act: 3 })?;
        // 9: rk, sk = HKDF(ck, zero)
        let (rk, sk) = hkdf(&ck, &[]);
        Ok((rs, Transport::new(ck, sk, rk)))
    }
}

/// One direction of the transport: a key, its nonce and its chaining key.
struct CipherState {
    ck: [u8; 32],
    k: [u8; 32],
    n: u64,
    cipher: Bolt8Cipher,
}

impl CipherState {
    fn new(ck: [u8; 32], k: [u8; 32]) -> Self {
        CipherState {
            ck,
            k,
            n: 0,
            cipher: Bolt8Cipher::new(&k, KEY_ROTATION_INDEX),
        }
    }

    /// Moves to the next nonce, rotating the key when it reaches 1000
    /// (BOLT 8 "Lightning Message Key Rotation": `ck', k' = HKDF(ck, k)`).
    #[inline]
    fn advance(&mut self) {
        self.n += 1;
        if self.n == KEY_ROTATION_INDEX {
            let (ck, k) = hkdf(&self.ck, &self.k);
            self.ck = ck;
            self.k = k;
            self.n = 0;
            self.cipher = Bolt8Cipher::new(&k, KEY_ROTATION_INDEX);
        }
    }

    /// Whether the current nonce starts a packet whose two nonces share a
    /// key. Packets take nonces in pairs from 0 and 1000 is even, so this
    /// always holds unless a caller opened a prefix without its body.
    #[inline]
    fn at_packet_start(&self) -> bool {
        self.n % 2 == 0 && self.n + 1 < KEY_ROTATION_INDEX
    }

    /// Seals `hdr` under the current nonce and `body` under the next one,
    /// advancing twice; returns both tags.
    #[inline]
    fn seal_packet(
        &mut self,
        hdr: &mut [u8; 2],
        body: &mut [u8],
    ) -> ([u8; MAC_LEN], [u8; MAC_LEN]) {
        let tags = if self.at_packet_start() {
            let t = self
                .cipher
                .seal_packet(self.n, hdr, body)
                .expect("a lightning message is far below the aead length limit");
            self.advance();
            t
        } else {
            let t1 = self.seal_now(hdr);
            self.advance();
            (t1, self.seal_now(body))
        };
        self.advance();
        tags
    }

    /// Seals under the current nonce without advancing.
    #[inline]
    fn seal_now(&mut self, buf: &mut [u8]) -> [u8; MAC_LEN] {
        self.cipher
            .aead()
            .seal(&bolt8_nonce(self.n), &[], buf)
            .expect("a lightning message is far below the aead length limit")
    }

    /// Opens a length prefix under the current nonce; advances.
    #[inline]
    fn open_prefix(&mut self, buf: &mut [u8; 2], tag: &[u8; MAC_LEN]) -> Result<(), ()> {
        let r = if self.at_packet_start() {
            self.cipher.open_prefix(self.n, buf, tag)
        } else {
            self.cipher.aead().open(&bolt8_nonce(self.n), &[], buf, tag)
        };
        self.advance();
        r.map_err(|_| ())
    }

    /// Opens a body under the current nonce; advances.
    #[inline]
    fn open_body(&mut self, buf: &mut [u8], tag: &[u8; MAC_LEN]) -> Result<(), ()> {
        // The prefix took the previous nonce under the same key when the
        // current one is odd.
        let r = if self.n % 2 == 1 {
            self.cipher.open_body(self.n - 1, buf, tag)
        } else {
            self.cipher.aead().open(&bolt8_nonce(self.n), &[], buf, tag)
        };
        self.advance();
        r.map_err(|_| ())
    }
}

/// The transport after a successful handshake: seals outgoing messages and
/// opens incoming ones, each key rotating on its own.
pub struct Transport {
    send: CipherState,
    recv: CipherState,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Transport(sn {}, rn {})", self.send.n, self.recv.n)
    }
}

impl Transport {
    /// Builds a transport from the final chaining key and the two keys.
    pub fn new(ck: [u8; 32], sk: [u8; 32], rk: [u8; 32]) -> Self {
        Transport {
            send: CipherState::new(ck, sk),
            recv: CipherState::new(ck, rk),
        }
    }

    /// The current sending key (for tests against the vectors).
    pub fn sending_key(&self) -> [u8; 32] {
        self.send.k
    }
    /// The current receiving key (for tests against the vectors).
    pub fn receiving_key(&self) -> [u8; 32] {
        self.recv.k
    }

    /// Appends the encrypted packet for `msg` (`lc || c`) to `out`.
    pub fn encrypt_message(&mut self, msg: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        let start = out.len();
        out.reserve(LENGTH_HEADER_LEN + msg.len() + MAC_LEN);
        out.extend_from_slice(&[0u8; LENGTH_HEADER_LEN]);
        out.extend_from_slice(msg);
        let r = self.seal_in_place(out, start);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Seals a message written in place: `buf[start..start+18]` is room for
    /// the length prefix and `buf[start+18..]` the plaintext message. The
    /// body is encrypted where it lies and its tag appended, so the caller
    /// can encode a message straight into its outbound buffer.
    pub fn seal_in_place(&mut self, buf: &mut Vec<u8>, start: usize) -> Result<(), NoiseError> {
        let body_start = start + LENGTH_HEADER_LEN;
        debug_assert!(buf.len() >= body_start);
        let len = buf.len().saturating_sub(body_start);
        // BOLT 8: "The *maximum* size of _any_ Lightning message MUST NOT exceed `65535` bytes."
        if len > MAX_MESSAGE_LEN {
            return Err(NoiseError::MessageTooLong(len));
        }
        // Steps 1-3: the 2-byte big-endian length, sealed with `sn`; sn += 1.
        let (hdr, body) = buf[start..].split_at_mut(LENGTH_HEADER_LEN);
        // Step 4: the message itself, sealed with the next nonce; sn += 1.
        // Both seals share one keystream batch.
        hdr[..2].copy_from_slice(&(len as u16).to_be_bytes());
        let (hdr_text, hdr_tag) = hdr.split_at_mut(2);
        let hdr_text: &mut [u8; 2] = hdr_text.try_into().expect("two bytes");
        let (t1, t2) = self.send.seal_packet(hdr_text, body);
        hdr_tag.copy_from_slice(&t1);
        buf.extend_from_slice(&t2);
        Ok(())
    }

    /// Opens an 18-byte encrypted length prefix, returning the body length
    /// (without its MAC).
    pub fn open_length(&mut self, header: &[u8; LENGTH_HEADER_LEN]) -> Result<u16, NoiseError> {
        let mut l = [header[0], header[1]];
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(&header[2..]);
        self.recv
            .open_prefix(&mut l, &tag)
            .map_err(|_| NoiseError::BadLengthMac)?;
        Ok(u16::from_be_bytes(l))
    }

    /// Opens a body in place: `buf` is the ciphertext followed by its MAC;
    /// on success `buf[..buf.len()-16]` is the plaintext message.
    pub fn open_body_in_place(&mut self, buf: &mut [u8]) -> Result<(), NoiseError> {
        if buf.len() < MAC_LEN {
            return Err(NoiseError::BadMessageMac);
        }
        let split = buf.len() - MAC_LEN;
        let (msg, tag) = buf.split_at_mut(split);
        let tag: &[u8; MAC_LEN] = (&*tag).try_into().expect("split at MAC_LEN");
        self.recv
            .open_body(msg, tag)
            .map_err(|_| NoiseError::BadMessageMac)
    }
}

/// Where a [`NoiseSession`] stands.
enum SessionState {
    InitiatorAwaitingActTwo(Initiator),
    ResponderAwaitingActOne(Responder),
    ResponderAwaitingActThree(Responder),
    Established {
        /// Boxed: it carries keystream buffers (about 2.4 KB), and the
        /// state moves on every event.
        transport: Box<Transport>,
        their_node_id: PublicKey,
    },
    Failed,
}

/// What one [`NoiseSession::next_event`] call produced.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// More bytes are needed.
    NeedMore,
    /// The handshake finished (for the initiator, Act Three was appended to
    /// the outbound buffer). Carries the peer's node id.
    HandshakeDone {
        /// The peer's static key.
        their_node_id: PublicKey,
    },
    /// A handshake act to send to the peer was appended to the outbound buffer.
    ActSent,
    /// One decrypted message lies at `range` of the session's input buffer.
    Message(core::ops::Range<usize>),
}

/// A BOLT 8 connection over a byte stream that may arrive in any split:
/// buffers input, runs the handshake, then yields decrypted messages.
///
/// Feed bytes with [`NoiseSession::push_input`], then call
/// [`NoiseSession::next_event`] until it says [`SessionEvent::NeedMore`];
/// call [`NoiseSession::compact`] afterwards.
pub struct NoiseSession {
    state: SessionState,
    inbuf: Vec<u8>,
    /// Start of unconsumed input in `inbuf`.
    pos: usize,
    /// Length of the next body, once its prefix was opened.
    pending_len: Option<usize>,
}

impl fmt::Debug for NoiseSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoiseSession(buffered {})", self.inbuf.len() - self.pos)
    }
}

impl NoiseSession {
    /// An outbound session: returns it and Act One to send.
    pub fn new_outbound<C: Signing>(
        secp: &Secp256k1<C>,
        their_node_id: PublicKey,
        ephemeral: SecretKey,
    ) -> (Self, [u8; ACT_ONE_LEN]) {
        let (init, act) = Initiator::new(secp, their_node_id, ephemeral);
        (
            Self::with_state(SessionState::InitiatorAwaitingActTwo(init)),
            act,
        )
    }

    /// An inbound session waiting for Act One.
    pub fn new_inbound<C: Signing>(
        secp: &Secp256k1<C>,
        our_static_pub: &PublicKey,
        ephemeral: SecretKey,
    ) -> Self {
        Self::with_state(SessionState::ResponderAwaitingActOne(Responder::new(
            secp,
            our_static_pub,
            ephemeral,
        )))
    }

    fn with_state(state: SessionState) -> Self {
        NoiseSession {
            state,
            inbuf: Vec::new(),
            pos: 0,
            pending_len: None,
        }
    }

    /// Whether the handshake has completed.
    pub fn is_established(&self) -> bool {
        matches!(self.state, SessionState::Established { .. })
    }

    /// The peer's node id once known (always known for outbound sessions
    /// after the handshake).
    pub fn their_node_id(&self) -> Option<PublicKey> {
        match &self.state {
            SessionState::Established { their_node_id, .. } => Some(*their_node_id),
            SessionState::InitiatorAwaitingActTwo(i) => Some(i.their_node_id()),
            _ => None,
        }
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.inbuf.len() - self.pos
    }

    /// Appends received bytes.
    pub fn push_input(&mut self, data: &[u8]) {
        if self.pos == self.inbuf.len() {
            self.inbuf.clear();
            self.pos = 0;
        }
        self.inbuf.extend_from_slice(data);
    }

    /// Drops consumed input so the buffer does not grow.
    pub fn compact(&mut self) {
        if self.pos == self.inbuf.len() {
            self.inbuf.clear();
        } else if self.pos > 0 {
            self.inbuf.drain(..self.pos);
        }
        self.pos = 0;
        // Don't keep a large buffer around after a big message.
        if self.inbuf.capacity() > 4 * MAX_PACKET_LEN && self.inbuf.len() < MAX_PACKET_LEN {
            self.inbuf.shrink_to(MAX_PACKET_LEN);
        }
    }

    /// The input buffer; [`SessionEvent::Message`] ranges index into it.
    pub fn input(&self) -> &[u8] {
        &self.inbuf
    }

    /// Seals `buf[start..]` (18 reserved bytes then the message) in place.
    /// Fails if the handshake is not done or the message is too long.
    pub fn seal_in_place(&mut self, buf: &mut Vec<u8>, start: usize) -> Result<(), NoiseError> {
        match &mut self.state {
            SessionState::Established { transport, .. } => transport.seal_in_place(buf, start),
            _ => Err(NoiseError::HandshakeIncomplete),
        }
    }

    /// Processes buffered input: advances the handshake (appending any act
    /// to send to `out`) or opens the next message.
    pub fn next_event(
        &mut self,
        our_static: &dyn StaticKeyEcdh,
        out: &mut Vec<u8>,
    ) -> Result<SessionEvent, NoiseError> {
        let avail = self.inbuf.len() - self.pos;
        match core::mem::replace(&mut self.state, SessionState::Failed) {
            SessionState::InitiatorAwaitingActTwo(init) => {
                if avail < ACT_TWO_LEN {
                    self.state = SessionState::InitiatorAwaitingActTwo(init);
                    return Ok(SessionEvent::NeedMore);
                }
                let their_node_id = init.their_node_id();
                let act = &self.inbuf[self.pos..self.pos + ACT_TWO_LEN];
                let (act3, transport) = init.process_act_two(act, our_static)?;
                self.pos += ACT_TWO_LEN;
                out.extend_from_slice(&act3);
                self.state = SessionState::Established {
                    transport: Box::new(transport),
                    their_node_id,
                };
                Ok(SessionEvent::HandshakeDone { their_node_id })
            }
            SessionState::ResponderAwaitingActOne(mut resp) => {
                if avail < ACT_ONE_LEN {
                    self.state = SessionState::ResponderAwaitingActOne(resp);
                    return Ok(SessionEvent::NeedMore);
                }
                let act = &self.inbuf[self.pos..self.pos + ACT_ONE_LEN];
                let act2 = resp.process_act_one(act, our_static)?;
                self.pos += ACT_ONE_LEN;
                out.extend_from_slice(&act2);
                self.state = SessionState::ResponderAwaitingActThree(resp);
                Ok(SessionEvent::ActSent)
            }
            SessionState::ResponderAwaitingActThree(resp) => {
                if avail < ACT_THREE_LEN {
                    self.state = SessionState::ResponderAwaitingActThree(resp);
                    return Ok(SessionEvent::NeedMore);
                }
                let act = &self.inbuf[self.pos..self.pos + ACT_THREE_LEN];
                let (their_node_id, transport) = resp.process_act_three(act)?;
                self.pos += ACT_THREE_LEN;
                self.state = SessionState::Established {
                    transport: Box::new(transport),
                    their_node_id,
                };
                Ok(SessionEvent::HandshakeDone { their_node_id })
            }
            SessionState::Established {
                mut transport,
                their_node_id,
            } => {
                let r = self.next_message(&mut transport, avail);
                if r.is_ok() {
                    self.state = SessionState::Established {
                        transport,
                        their_node_id,
                    };
                }
                r
            }
            SessionState::Failed => Err(NoiseError::BadMessageMac),
        }
    }

    #[inline]
    fn next_message(
        &mut self,
        transport: &mut Transport,
        mut avail: usize,
    ) -> Result<SessionEvent, NoiseError> {
        let len = match self.pending_len {
            Some(l) => l,
            None => {
                if avail < LENGTH_HEADER_LEN {
                    return Ok(SessionEvent::NeedMore);
                }
                let mut hdr = [0u8; LENGTH_HEADER_LEN];
                hdr.copy_from_slice(&self.inbuf[self.pos..self.pos + LENGTH_HEADER_LEN]);
                let l = transport.open_length(&hdr)? as usize;
                self.pos += LENGTH_HEADER_LEN;
                avail -= LENGTH_HEADER_LEN;
                self.pending_len = Some(l);
                l
            }
        };
        // BOLT 8 receiving step 4: "Read _exactly_ `l+16` bytes".
        if avail < len + MAC_LEN {
            // Reserve once so a large body doesn't grow the buffer repeatedly.
            self.inbuf.reserve(len + MAC_LEN - avail);
            return Ok(SessionEvent::NeedMore);
        }
        let start = self.pos;
        transport.open_body_in_place(&mut self.inbuf[start..start + len + MAC_LEN])?;
        self.pos += len + MAC_LEN;
        self.pending_len = None;
        Ok(SessionEvent::Message(start..start + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_slice(&[b; 32]).unwrap()
    }

    #[test]
    fn sessions_talk_in_any_split() {
        let secp = Secp256k1::new();
        let a = StaticKey::new(&secp, key(1));
        let b = StaticKey::new(&secp, key(2));
        let (mut sa, act1) = NoiseSession::new_outbound(&secp, b.public_key(), key(3));
        let mut sb = NoiseSession::new_inbound(&secp, &b.public_key(), key(4));
        let mut to_a = Vec::new();
        let mut to_b = act1.to_vec();
        // byte by byte
        for byte in core::mem::take(&mut to_b) {
            sb.push_input(&[byte]);
            while sb.next_event(&b, &mut to_a).unwrap() != SessionEvent::NeedMore {}
            sb.compact();
        }
        sa.push_input(&to_a);
        to_a.clear();
        assert_eq!(
            sa.next_event(&a, &mut to_b).unwrap(),
            SessionEvent::HandshakeDone {
                their_node_id: b.public_key()
            }
        );
        sb.push_input(&to_b);
        to_b.clear();
        assert_eq!(
            sb.next_event(&b, &mut to_a).unwrap(),
            SessionEvent::HandshakeDone {
                their_node_id: a.public_key()
            }
        );
        // many messages in one read, crossing several rotations
        let mut wire = Vec::new();
        for i in 0..1200u32 {
            let start = wire.len();
            wire.extend_from_slice(&[0u8; LENGTH_HEADER_LEN]);
            wire.extend_from_slice(&i.to_be_bytes());
            sa.seal_in_place(&mut wire, start).unwrap();
        }
        for chunk in wire.chunks(37) {
            sb.push_input(chunk);
            loop {
                match sb.next_event(&b, &mut to_a).unwrap() {
                    SessionEvent::NeedMore => break,
                    SessionEvent::Message(r) => to_b.extend_from_slice(&sb.input()[r]),
                    e => panic!("unexpected {e:?}"),
                }
            }
            sb.compact();
        }
        let got: Vec<u32> = to_b
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(got, (0..1200).collect::<Vec<_>>());
    }
}
