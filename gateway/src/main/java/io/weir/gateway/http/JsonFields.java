package io.weir.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import io.weir.infra.json.Json;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed, strict reads of a JSON request body, failing as pydantic does (422 with the field's location):
 * a string field takes only a string, an integer field only an integral number, and so on. Absent and
 * null are the same (the llmengine client sends every optional field, as null when unset).
 */
public final class JsonFields {
    private final ObjectNode body;

    private JsonFields(ObjectNode body) {
        this.body = body;
    }

    public static JsonFields parse(Buffer buffer) {
        if (buffer == null || buffer.length() == 0) {
            throw ApiException.invalid("missing", "body", "Field required: the request needs a JSON body");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(buffer.getBytes());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiException.invalid("json_invalid", "body", "JSON decode error: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid("json_invalid", "body", "JSON decode error: " + e.getMessage());
        }
        if (!(node instanceof ObjectNode object)) {
            throw ApiException.invalid("model_attributes_type", "body", "Input should be a JSON object");
        }
        return new JsonFields(object);
    }

    /** The raw value of a field for shapes the typed reads do not cover (unions, objects); null when absent or null. */
    public JsonNode node(String field) {
        JsonNode v = body.get(field);
        return v == null || v.isNull() ? null : v;
    }

    public boolean has(String field) {
        JsonNode v = body.get(field);
        return v != null && !v.isNull();
    }

    public String requiredString(String field) {
        String v = optionalString(field);
        if (v == null) {
            throw missing(field);
        }
        return v;
    }

    public String optionalString(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid("string_type", field, "Input should be a valid string");
        }
        return v.textValue();
    }

    public int requiredInt(String field) {
        Long v = optionalLong(field);
        if (v == null) {
            throw missing(field);
        }
        if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
            throw ApiException.invalid("int_type", field, "Input should be a valid integer of 32 bits");
        }
        return v.intValue();
    }

    public Integer optionalInt(String field) {
        return has(field) ? requiredInt(field) : null;
    }

    public Long optionalLong(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        if (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue()) && Math.abs(v.doubleValue()) < 9e15) {
            return (long) v.doubleValue();
        }
        throw ApiException.invalid("int_type", field, "Input should be a valid integer");
    }

    public double requiredDouble(String field) {
        Double v = optionalDouble(field);
        if (v == null) {
            throw missing(field);
        }
        return v;
    }

    public Double optionalDouble(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw ApiException.invalid("float_type", field, "Input should be a valid number");
        }
        return v.doubleValue();
    }

    public Boolean optionalBoolean(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid("bool_type", field, "Input should be a valid boolean");
        }
        return v.booleanValue();
    }

    public List<String> optionalStringList(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw ApiException.invalid("list_type", field, "Input should be a valid list of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode item : v) {
            if (!item.isTextual()) {
                throw ApiException.invalid("string_type", field, "Input should be a valid list of strings");
            }
            out.add(item.textValue());
        }
        return out;
    }

    /** A JSON object of string values (labels); null when absent. */
    public java.util.Map<String, String> optionalStringMap(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw ApiException.invalid("dict_type", field, "Input should be a valid dictionary of strings");
        }
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (var entry : v.properties()) {
            if (!entry.getValue().isTextual()) {
                throw ApiException.invalid("string_type", field, "Input should be a valid dictionary of strings");
            }
            out.put(entry.getKey(), entry.getValue().textValue());
        }
        return out;
    }

    /** Like {@link #optionalStringList}, but the field must be there. */
    public List<String> requiredStringList(String field) {
        List<String> v = optionalStringList(field);
        if (v == null) {
            throw missing(field);
        }
        return v;
    }

    /**
     * A nested object, read with the same rules; absent or null reads as an empty object. Its errors name
     * the inner field only: wrap them with {@link ApiException#under}.
     */
    public JsonFields object(String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return new JsonFields(Json.MAPPER.createObjectNode());
        }
        if (!(v instanceof ObjectNode object)) {
            throw ApiException.invalid("model_type", field, "Input should be a valid dictionary or object");
        }
        return new JsonFields(object);
    }

    /** Checks {@code min <= value <= max} (bounds inclusive unless stated) for a field that is present. */
    public static void checkRange(String field, Double value, double min, boolean minInclusive, double max) {
        if (value == null) {
            return;
        }
        boolean aboveMin = minInclusive ? value >= min : value > min;
        if (!aboveMin || value > max) {
            throw ApiException.invalid(minInclusive ? "greater_than_equal" : "greater_than", field,
                    "Input should be " + (minInclusive ? "between " : "greater than ") + fmt(min)
                            + (minInclusive ? " and " : " and at most ") + fmt(max) + ", got " + fmt(value));
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static ApiException missing(String field) {
        return ApiException.invalid("missing", field, "Field required");
    }
}
