//! Least privilege on AWS, proven on template.yaml and in-process: no plaintext secret in any
//! function's environment, each secret read (from Secrets Manager, on the protocol server) by
//! the functions that use it only, each function's real DynamoDB traffic allowed by its own role
//! and its writes kept to its partitions, concurrency, Cognito and the APIs' access logs.

mod policy;
mod record;
mod requests;
mod secrets;
mod template_checks;
