//! Running a function: an HTTP Router, an SQS batch or a scheduled event.
