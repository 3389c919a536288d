//! Organisation manifest (`org.yaml`): schema, validation with file/line errors.
