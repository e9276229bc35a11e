//! The shape of the generated protobuf schema tables: messages, their fields and value types.

/// A protobuf message type and its fields in Go declaration order (the JSON field order).
#[derive(Debug)]
pub(crate) struct Message {
    /// OpenAPI definition name (`io.k8s.api.core.v1.PodSpec`).
    pub name: &'static str,
    /// Fields in the order the Go struct declares them.
    pub fields: &'static [Field],
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// Protobuf field number.
    pub number: u32,
    /// JSON name (empty for an inlined part).
    pub json: &'static str,
    /// The value type (the element type for repeated fields, the value type for maps).
    pub ty: Ty,
    /// How the Go struct holds the value.
    pub shape: Shape,
    /// Whether the Go JSON tag says `omitempty`.
    pub omit_empty: bool,
}

impl Field {
    /// A table row.
    pub(crate) const fn new(
        number: u32,
        json: &'static str,
        ty: Ty,
        shape: Shape,
        omit_empty: bool,
    ) -> Self {
        Self {
            number,
            json,
            ty,
            shape,
            omit_empty,
        }
    }
}

/// How the Go struct holds a field, which decides what JSON an absent or zero value gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A plain value: absent means the zero value.
    Value,
    /// A pointer: absent means nil, present zero values are kept.
    Pointer,
    /// A slice (`repeated`).
    Repeated,
    /// A `map<string, ty>` (protobuf map entries: 1 key, 2 value).
    Map,
    /// An embedded struct whose JSON fields are inlined into the parent object.
    Inline,
}

/// The type of a value. `Double`, `Duration` and `RawExtension` are part of the format but no
/// type reachable from today's roots uses them.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Ty {
    /// `string` (JSON string).
    String,
    /// `bool`.
    Bool,
    /// `int32` (varint).
    Int32,
    /// `int64` (varint).
    Int64,
    /// `double` (fixed64).
    Double,
    /// `bytes` (base64 in JSON).
    Bytes,
    /// A nested message.
    Message(&'static Message),
    /// `meta.v1.Time` {1 seconds, 2 nanos}: RFC 3339 with seconds, null when zero.
    Time,
    /// `meta.v1.MicroTime` {1 seconds, 2 nanos}: RFC 3339 with microseconds.
    MicroTime,
    /// `meta.v1.Duration` {1 nanoseconds}: Go duration string (`1h2m3s`).
    Duration,
    /// `meta.v1.FieldsV1` {1 raw JSON}.
    FieldsV1,
    /// `resource.Quantity` {1 string}.
    Quantity,
    /// `intstr.IntOrString` {1 type, 2 intVal, 3 strVal}: a number or a string.
    IntOrString,
    /// `runtime.RawExtension` {1 raw JSON}: the embedded object.
    RawExtension,
}

/// The message for a top-level `apiVersion`/`kind`. `DeleteOptions` is registered in every
/// group version, so clients send it with the resource's apiVersion.
pub(crate) fn root(api_version: &str, kind: &str) -> Option<&'static Message> {
    let roots = super::tables::ROOTS;
    roots
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .or_else(|| {
            roots
                .iter()
                .find(|(_, k, _)| kind == "DeleteOptions" && *k == kind)
        })
        .map(|(_, _, m)| *m)
}
