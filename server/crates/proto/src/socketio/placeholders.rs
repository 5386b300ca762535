//! Binary attachment placeholders: `{"_placeholder":true,"num":N}` marks
//! where attachment N goes. A receiving client rebuilds the packet from
//! them and disconnects with "illegal attachments" when one points past the
//! attachments, so a packet is checked here before anyone forwards it.

use serde_json::Value;

/// JSON deeper than this is refused rather than walked (serde_json itself
/// stops at 128 levels).
const MAX_DEPTH: usize = 128;

/// True when every placeholder in `data` names an attachment below `count`,
/// by the reference parser's rule: `_placeholder` is `true` and `num` is a
/// whole number in `0..count`. Costs a substring search unless `data`
/// mentions `_placeholder` at all.
pub fn placeholders_valid(data: &str, count: usize) -> bool {
    if !data.contains("_placeholder") {
        return true;
    }
    match serde_json::from_str::<Value>(data) {
        Ok(value) => valid(&value, count, 0),
        Err(_) => false,
    }
}

fn valid(value: &Value, count: usize, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::Array(items) => items.iter().all(|v| valid(v, count, depth + 1)),
        Value::Object(map) => {
            if map.get("_placeholder") == Some(&Value::Bool(true)) {
                return map
                    .get("num")
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n < count as u64);
            }
            map.values().all(|v| valid(v, count, depth + 1))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders_valid;

    #[test]
    fn placeholders_must_name_an_attachment() {
        let ok = r#"["up",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]"#;
        assert!(placeholders_valid(ok, 2));
        assert!(!placeholders_valid(ok, 1));
        for bad in [
            r#"["x",{"_placeholder":true,"num":5}]"#,
            r#"["x",{"_placeholder":true,"num":-1}]"#,
            r#"["x",{"_placeholder":true,"num":0.5}]"#,
            r#"["x",{"_placeholder":true,"num":"0"}]"#,
            r#"["x",{"_placeholder":true}]"#,
            r#"["x",{"a":{"b":{"_placeholder":true,"num":3}}}]"#,
        ] {
            assert!(!placeholders_valid(bad, 3), "{bad}");
        }
        // Not a placeholder: `_placeholder` is not `true`.
        assert!(placeholders_valid(r#"["x",{"_placeholder":1,"num":9}]"#, 0));
        assert!(placeholders_valid(r#"["x","_placeholder"]"#, 0));
    }
}
