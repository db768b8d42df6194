//! Serdes: how keys and values become bytes and back, byte-compatible with Java's `Serdes`.
//!
//! Every built-in serde is a zero-sized `Copy` type; `JsonSerde<T>` (short name `Json<T>`) goes
//! through serde_json.
//! [`DefaultSerde`] names the serde a type gets when a topology does not name one.

use std::marker::PhantomData;

/// Why bytes could not become a value, or a value bytes.
#[derive(Debug, thiserror::Error)]
pub enum SerdeError {
    /// The data had the wrong length for a fixed-size type.
    #[error("expected {expected} bytes for {type_name}, got {actual}")]
    WrongSize {
        /// The type being read.
        type_name: &'static str,
        /// The size the type needs.
        expected: usize,
        /// The size found.
        actual: usize,
    },
    /// The data was null where the type has no null.
    #[error("null data for non-nullable {type_name}; declare the type as Option<{type_name}>")]
    UnexpectedNull {
        /// The type being read.
        type_name: &'static str,
    },
    /// Data was present where only null is allowed (the unit serde).
    #[error("expected null data, got {actual} bytes")]
    ExpectedNull {
        /// The size found.
        actual: usize,
    },
    /// The bytes were not UTF-8.
    #[error("invalid UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    /// serde_json failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A user serde failed.
    #[error("{0}")]
    Custom(String),
}

/// What `Serde::serialize` wrote: bytes, or Kafka's null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// The bytes appended to the output buffer are the value.
    Bytes,
    /// The value is null on the wire (nothing was written).
    Null,
}

/// Turns values of `T` into bytes and back (Java's `Serde<T>`).
///
/// `serialize` appends to a reused buffer so the per-record path allocates nothing. The built-in
/// serdes write the bytes Java's do:
///
/// ```
/// use streams_runtime::serde::{Encoded, LongSerde, Serde, StringSerde};
///
/// let mut bytes = Vec::new();
/// assert!(matches!(LongSerde.serialize(&42, &mut bytes)?, Encoded::Bytes));
/// assert_eq!(bytes, 42i64.to_be_bytes()); // Java's LongSerializer: 8 bytes, big-endian
/// assert_eq!(LongSerde.deserialize(Some(&bytes))?, 42);
/// assert_eq!(StringSerde.deserialize(Some(b"kafka"))?, "kafka");
/// # Ok::<(), streams_runtime::serde::SerdeError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "serde `{Self}` cannot (de)serialize `{T}`",
    label = "`{Self}` is not a serde for `{T}`",
    note = "name a serde for `{T}`, or leave the serde out to use `{T}`'s default serde"
)]
pub trait Serde<T>: Default + Clone {
    /// Appends the bytes of `value` to `out`, or reports that it is null.
    fn serialize(&self, value: &T, out: &mut Vec<u8>) -> Result<Encoded, SerdeError>;
    /// Reads a value from bytes (`None` is Kafka's null).
    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, SerdeError>;
    /// Whether `value` is Kafka's null (what `serialize` reports as [`Encoded::Null`]), asked
    /// without serializing: stream aggregations skip null values, as Java does.
    #[inline]
    fn is_null(&self, _value: &T) -> bool {
        false
    }
}

/// The serde a type gets when a topology or store declaration names none.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no default serde",
    label = "no default serde for `{Self}`",
    note = "name one (for example `value_serde: JsonSerde<{Self}>`), or implement `DefaultSerde` for `{Self}`"
)]
pub trait DefaultSerde: Sized {
    /// The serde used for this type by default.
    type Serde: Serde<Self>;
}

/// The default serde of `T`.
pub type SerdeOf<T> = <T as DefaultSerde>::Serde;

/// The default serde of whatever type it is asked to (de)serialize: `Serde<T>` for every
/// `T: DefaultSerde`, delegating to [`SerdeOf<T>`]. It lets a serde wrap "the key's default serde"
/// before the key's type is known (`TimeWindowedSerde<TypeDefault>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeDefault;

impl<T: DefaultSerde> Serde<T> for TypeDefault {
    #[inline]
    fn serialize(&self, value: &T, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        SerdeOf::<T>::default().serialize(value, out)
    }
    #[inline]
    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, SerdeError> {
        SerdeOf::<T>::default().deserialize(data)
    }
    #[inline]
    fn is_null(&self, value: &T) -> bool {
        SerdeOf::<T>::default().is_null(value)
    }
}

impl<K: DefaultSerde> DefaultSerde for crate::window::Windowed<K> {
    /// Time-windowed keys; the window end reads back as `i64::MAX` (the size is not on the wire).
    type Serde = crate::window::TimeWindowedSerde<K::Serde>;
}

/// The bytes of `data`, or [`SerdeError::UnexpectedNull`] naming `type_name`. Every serde of a
/// type without null reads its data through it: the error is built only when the data is null
/// (`Option::ok_or` built it for every record and dropped it).
#[inline]
pub(crate) fn non_null<'a>(data: Option<&'a [u8]>, type_name: &'static str) -> Result<&'a [u8], SerdeError> {
    match data {
        Some(data) => Ok(data),
        None => Err(SerdeError::UnexpectedNull { type_name }),
    }
}

fn fixed<const N: usize>(data: Option<&[u8]>, type_name: &'static str) -> Result<[u8; N], SerdeError> {
    let data = non_null(data, type_name)?;
    data.try_into().map_err(|_| SerdeError::WrongSize {
        type_name,
        expected: N,
        actual: data.len(),
    })
}

macro_rules! big_endian_serde {
    ($(#[$doc:meta] $serde:ident => $ty:ty, $n:literal;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $serde;

        impl Serde<$ty> for $serde {
            #[inline]
            fn serialize(&self, value: &$ty, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
                out.extend_from_slice(&value.to_be_bytes());
                Ok(Encoded::Bytes)
            }
            #[inline]
            fn deserialize(&self, data: Option<&[u8]>) -> Result<$ty, SerdeError> {
                Ok(<$ty>::from_be_bytes(fixed::<$n>(data, stringify!($ty))?))
            }
        }

        impl DefaultSerde for $ty {
            type Serde = $serde;
        }
    )*};
}

big_endian_serde! {
    /// Big-endian 2-byte integers (Java's `Serdes.Short()`).
    ShortSerde => i16, 2;
    /// Big-endian 4-byte integers (Java's `Serdes.Integer()`).
    IntegerSerde => i32, 4;
    /// Big-endian 8-byte integers (Java's `Serdes.Long()`).
    LongSerde => i64, 8;
    /// Big-endian IEEE 754 single precision (Java's `Serdes.Float()`).
    FloatSerde => f32, 4;
    /// Big-endian IEEE 754 double precision (Java's `Serdes.Double()`).
    DoubleSerde => f64, 8;
}

/// UTF-8 strings (Java's `Serdes.String()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StringSerde;

impl Serde<String> for StringSerde {
    #[inline]
    fn serialize(&self, value: &String, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        out.extend_from_slice(value.as_bytes());
        Ok(Encoded::Bytes)
    }
    #[inline]
    fn deserialize(&self, data: Option<&[u8]>) -> Result<String, SerdeError> {
        let data = non_null(data, "String")?;
        Ok(std::str::from_utf8(data)?.to_owned())
    }
}

impl DefaultSerde for String {
    type Serde = StringSerde;
}

/// Raw bytes, unchanged (Java's `Serdes.ByteArray()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BytesSerde;

impl Serde<Vec<u8>> for BytesSerde {
    #[inline]
    fn serialize(&self, value: &Vec<u8>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        out.extend_from_slice(value);
        Ok(Encoded::Bytes)
    }
    #[inline]
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Vec<u8>, SerdeError> {
        let data = non_null(data, "Vec<u8>")?;
        Ok(data.to_vec())
    }
}

impl DefaultSerde for Vec<u8> {
    type Serde = BytesSerde;
}

/// Absent keys or values: always null on the wire (Java's `Serdes.Void()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitSerde;

impl Serde<()> for UnitSerde {
    #[inline]
    fn serialize(&self, _: &(), _: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        Ok(Encoded::Null)
    }
    #[inline]
    fn deserialize(&self, data: Option<&[u8]>) -> Result<(), SerdeError> {
        match data {
            None => Ok(()),
            Some(d) => Err(SerdeError::ExpectedNull { actual: d.len() }),
        }
    }
    #[inline]
    fn is_null(&self, _: &()) -> bool {
        true
    }
}

impl DefaultSerde for () {
    type Serde = UnitSerde;
}

/// Nullable values: `None` is Kafka's null, `Some` uses the inner serde.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionSerde<S>(pub S);

impl<T, S: Serde<T>> Serde<Option<T>> for OptionSerde<S> {
    #[inline]
    fn serialize(&self, value: &Option<T>, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        match value {
            Some(v) => self.0.serialize(v, out),
            None => Ok(Encoded::Null),
        }
    }
    #[inline]
    fn deserialize(&self, data: Option<&[u8]>) -> Result<Option<T>, SerdeError> {
        data.map(|d| self.0.deserialize(Some(d))).transpose()
    }
    #[inline]
    fn is_null(&self, value: &Option<T>) -> bool {
        value.as_ref().is_none_or(|v| self.0.is_null(v))
    }
}

impl<T: DefaultSerde> DefaultSerde for Option<T> {
    type Serde = OptionSerde<T::Serde>;
}

/// JSON through serde_json, for any `Serialize + DeserializeOwned` type (Java users write a
/// JSON serde by hand; this one is built in).
pub struct JsonSerde<T>(PhantomData<fn() -> T>);

/// The short name of [`JsonSerde`].
pub type Json<T> = JsonSerde<T>;

impl<T> Default for JsonSerde<T> {
    fn default() -> Self {
        JsonSerde(PhantomData)
    }
}

impl<T> Clone for JsonSerde<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for JsonSerde<T> {}

impl<T> std::fmt::Debug for JsonSerde<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonSerde<{}>", std::any::type_name::<T>())
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Serde<T> for JsonSerde<T> {
    fn serialize(&self, value: &T, out: &mut Vec<u8>) -> Result<Encoded, SerdeError> {
        serde_json::to_writer(out, value)?;
        Ok(Encoded::Bytes)
    }
    fn deserialize(&self, data: Option<&[u8]>) -> Result<T, SerdeError> {
        let data = non_null(data, std::any::type_name::<T>())?;
        Ok(serde_json::from_slice(data)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T, S: Serde<T>>(serde: S, v: &T) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match serde.serialize(v, &mut out).unwrap() {
            Encoded::Bytes => Some(out),
            Encoded::Null => None,
        }
    }

    #[test]
    fn integers_and_doubles_are_big_endian_like_java() {
        assert_eq!(bytes(IntegerSerde, &1i32), Some(vec![0, 0, 0, 1]));
        assert_eq!(
            bytes(LongSerde, &-2i64),
            Some(vec![0xff; 7].into_iter().chain([0xfe]).collect())
        );
        assert_eq!(bytes(DoubleSerde, &1.0f64), Some(vec![0x3f, 0xf0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(bytes(ShortSerde, &258i16), Some(vec![1, 2]));
        assert_eq!(LongSerde.deserialize(Some(&[0, 0, 0, 0, 0, 0, 1, 0])).unwrap(), 256);
    }

    #[test]
    fn strings_are_utf8_and_nulls_are_typed_errors() {
        assert_eq!(
            bytes(StringSerde, &"héllo".to_string()),
            Some("héllo".as_bytes().to_vec())
        );
        assert!(matches!(
            StringSerde.deserialize(Some(&[0xff])),
            Err(SerdeError::Utf8(_))
        ));
        assert!(matches!(
            StringSerde.deserialize(None),
            Err(SerdeError::UnexpectedNull { type_name: "String" })
        ));
        assert!(matches!(
            IntegerSerde.deserialize(Some(&[1, 2])),
            Err(SerdeError::WrongSize {
                expected: 4,
                actual: 2,
                ..
            })
        ));
    }

    #[test]
    fn options_and_unit_map_to_kafka_null() {
        let s = OptionSerde(StringSerde);
        assert_eq!(bytes(s, &None), None);
        assert_eq!(s.deserialize(None).unwrap(), None);
        assert_eq!(s.deserialize(Some(b"a")).unwrap(), Some("a".to_string()));
        assert_eq!(bytes(UnitSerde, &()), None);
        assert!(UnitSerde.deserialize(Some(b"x")).is_err());
    }

    #[test]
    fn json_round_trips() {
        let j = Json::<Vec<u32>>::default();
        assert_eq!(bytes(j, &vec![1, 2]), Some(b"[1,2]".to_vec()));
        assert_eq!(j.deserialize(Some(b"[3]")).unwrap(), vec![3]);
        assert!(matches!(j.deserialize(Some(b"{")), Err(SerdeError::Json(_))));
    }
}
