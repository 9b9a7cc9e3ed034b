//! `impl_writable_msg!`: declare a wire message by its fields and TLV records.

/// Declares a BOLT message: a struct with its fixed fields (in wire order),
/// its TLV records, and a field `unknown_tlvs` that keeps unknown odd TLV
/// records so the message re-encodes byte for byte. Implements
/// [`Type`](crate::codec::Type), [`Readable`](crate::codec::Readable),
/// [`Writeable`](crate::codec::Writeable) and an allocation-light
/// `decode(payload: &[u8])`.
///
/// Gossip messages, whose signatures cover whatever follows the known
/// fields, end in `excess_data` instead of `tlvs { … }`: the trailing bytes
/// are kept raw in a field of that name.
///
/// Each TLV record is `(type, field: ValueType, kind)` where `kind` is
/// `option` (the field is `Option<ValueType>`) or `required` (the field is
/// `ValueType`, and a stream without it fails to decode). TLV types must be
/// listed in increasing order. Value types implement
/// [`TlvValue`](crate::codec::TlvValue).
///
/// ```
/// use lnkit::codec::{Readable, Writeable};
/// lnkit::impl_writable_msg! {
///     /// A custom message.
///     pub struct Hello = 32801 {
///         /// A counter.
///         pub counter: u32,
///     }
///     tlvs {
///         /// An optional note.
///         (1, note: Vec<u8>, option),
///     }
/// }
/// let msg = Hello { counter: 7, note: Some(b"hi".to_vec()), unknown_tlvs: Default::default() };
/// let bytes = msg.encode();
/// assert_eq!(bytes, [0, 0, 0, 7, 1, 2, b'h', b'i']);
/// assert_eq!(Hello::decode(&bytes).unwrap(), msg);
/// ```
#[macro_export]
macro_rules! impl_writable_msg {
    // lnkit's own messages also get a `Sample` implementation (property
    // tests and fuzz seeds); user messages need not implement it.
    (
        @with_sample
        $(#[$smeta:meta])*
        pub struct $name:ident = $typ:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
        tlvs {
            $( $(#[$tmeta:meta])* ($tnum:literal, $tfield:ident : $tty:ty, $kind:ident) ),* $(,)?
        }
    ) => {
        $crate::impl_writable_msg! {
            $(#[$smeta])*
            pub struct $name = $typ {
                $( $(#[$fmeta])* pub $field : $fty, )*
            }
            tlvs {
                $( $(#[$tmeta])* ($tnum, $tfield : $tty, $kind), )*
            }
        }
        impl $crate::codec::sample::Sample for $name {
            fn sample(g: &mut $crate::codec::sample::SampleRng) -> Self {
                const KNOWN: &[u64] = &[$($tnum),*];
                let mut unknown = $crate::codec::TlvStream::new();
                for typ in [3u64, 7, 9, 13, 255, 1001, 65537, 4_294_967_297] {
                    if !KNOWN.contains(&typ) && g.below(4) == 0 {
                        let len = g.below(12) as usize;
                        unknown.0.push($crate::codec::TlvRecord { typ, value: g.bytes(len) });
                    }
                }
                $name {
                    $( $field: $crate::codec::sample::Sample::sample(g), )*
                    $( $tfield: $crate::__tlv_sample!($kind, $tty, g), )*
                    unknown_tlvs: unknown,
                }
            }
        }
    };
    (
        @with_sample
        $(#[$smeta:meta])*
        pub struct $name:ident = $typ:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
        excess_data
    ) => {
        $crate::impl_writable_msg! {
            $(#[$smeta])*
            pub struct $name = $typ {
                $( $(#[$fmeta])* pub $field : $fty, )*
            }
            excess_data
        }
        impl $crate::codec::sample::Sample for $name {
            fn sample(g: &mut $crate::codec::sample::SampleRng) -> Self {
                let len = g.below(3) as usize * 5;
                $name {
                    $( $field: $crate::codec::sample::Sample::sample(g), )*
                    excess_data: g.bytes(len),
                }
            }
        }
    };
    (
        $(#[$smeta:meta])*
        pub struct $name:ident = $typ:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
        excess_data
    ) => {
        $(#[$smeta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $fty, )*
            /// Bytes after the known fields, kept as received: gossip
            /// signatures cover them (BOLT 7), so they are relayed unchanged.
            pub excess_data: ::std::vec::Vec<u8>,
        }

        impl $crate::codec::Type for $name {
            const TYPE: u16 = $typ;
        }

        impl $name {
            /// Decodes the message from its payload (the bytes after the
            /// 2-byte type), keeping any trailing bytes.
            #[inline]
            pub fn decode(payload: &[u8]) -> ::core::result::Result<Self, $crate::codec::DecodeError> {
                let mut buf: &[u8] = payload;
                $( let $field = <$fty as $crate::codec::Readable>::read(&mut buf)?; )*
                Ok($name { $( $field, )* excess_data: buf.to_vec() })
            }
        }

        impl $crate::codec::Readable for $name {
            fn read<R: ::std::io::Read>(r: &mut R) -> ::core::result::Result<Self, $crate::codec::DecodeError> {
                let bytes = $crate::codec::tlv::read_rest(r)?;
                $name::decode(&bytes)
            }
        }


        impl $crate::codec::Writeable for $name {
            fn write<W: ::std::io::Write>(&self, w: &mut W) -> ::std::io::Result<()> {
                $( $crate::codec::Writeable::write(&self.$field, w)?; )*
                w.write_all(&self.excess_data)
            }
            fn size_hint(&self) -> usize {
                0 $( + $crate::codec::Writeable::size_hint(&self.$field) )* + self.excess_data.len()
            }
        }
    };
    (
        $(#[$smeta:meta])*
        pub struct $name:ident = $typ:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty ),* $(,)?
        }
        tlvs {
            $( $(#[$tmeta:meta])* ($tnum:literal, $tfield:ident : $tty:ty, $kind:ident) ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $fty, )*
            $( $(#[$tmeta])* pub $tfield: $crate::__tlv_field_type!($kind, $tty), )*
            /// TLV records of (odd) types this version does not know, kept to
            /// be written back exactly as received.
            pub unknown_tlvs: $crate::codec::TlvStream,
        }

        impl $crate::codec::Type for $name {
            const TYPE: u16 = $typ;
        }

        impl $name {
            /// Decodes the message from its payload (the bytes after the
            /// 2-byte type), extension TLV stream included.
            #[allow(unused_variables, unused_mut, clippy::match_single_binding)]
            #[inline]
            pub fn decode(payload: &[u8]) -> ::core::result::Result<Self, $crate::codec::DecodeError> {
                let mut buf: &[u8] = payload;
                $( let $field = <$fty as $crate::codec::Readable>::read(&mut buf)?; )*
                $( let mut $tfield: ::core::option::Option<$tty> = None; )*
                let mut unknown_tlvs = $crate::codec::TlvStream::new();
                $crate::codec::tlv::read_tlv_stream(buf, &mut unknown_tlvs, |t, v| {
                    match t {
                        $( $tnum => {
                            $tfield = Some(<$tty as $crate::codec::TlvValue>::read_value(v)?);
                            Ok(true)
                        } )*
                        _ => Ok(false),
                    }
                })?;
                Ok($name {
                    $( $field, )*
                    $( $tfield: $crate::__tlv_field_take!($kind, $tfield), )*
                    unknown_tlvs,
                })
            }
        }

        impl $crate::codec::Readable for $name {
            fn read<R: ::std::io::Read>(r: &mut R) -> ::core::result::Result<Self, $crate::codec::DecodeError> {
                let bytes = $crate::codec::tlv::read_rest(r)?;
                $name::decode(&bytes)
            }
        }


        impl $crate::codec::Writeable for $name {
            #[allow(unused_mut, unused_comparisons)]
            fn write<W: ::std::io::Write>(&self, w: &mut W) -> ::std::io::Result<()> {
                $( $crate::codec::Writeable::write(&self.$field, w)?; )*
                let mut unknown = self.unknown_tlvs.0.iter().peekable();
                $(
                    while let Some(r) = unknown.next_if(|r| r.typ < $tnum) {
                        r.write(w)?;
                    }
                    $crate::__tlv_write!($kind, w, $tnum, &self.$tfield);
                )*
                for r in unknown {
                    r.write(w)?;
                }
                Ok(())
            }
            fn size_hint(&self) -> usize {
                16 $( + $crate::codec::Writeable::size_hint(&self.$field) )* + self.unknown_tlvs.encoded_len()
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tlv_field_type {
    (option, $t:ty) => { ::core::option::Option<$t> };
    (required, $t:ty) => { $t };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tlv_field_take {
    (option, $v:ident) => {
        $v
    };
    (required, $v:ident) => {
        $v.ok_or($crate::codec::DecodeError::InvalidValue)?
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tlv_write {
    (option, $w:ident, $num:literal, $v:expr) => {
        if let Some(v) = $v {
            $crate::codec::tlv::write_tlv_record($w, $num, v)?;
        }
    };
    (required, $w:ident, $num:literal, $v:expr) => {
        $crate::codec::tlv::write_tlv_record($w, $num, $v)?;
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __tlv_sample {
    (option, $t:ty, $g:ident) => {
        <::core::option::Option<$t> as $crate::codec::sample::Sample>::sample($g)
    };
    (required, $t:ty, $g:ident) => {
        <$t as $crate::codec::sample::Sample>::sample($g)
    };
}
