//! Everything between a built request body and the response's bytes: sending one request and
//! checking its status (`http`), reading bodies under deadlines and size caps, the timeouts, and
//! the retry policy and loop (`retry`).

pub(crate) mod http;
pub(crate) mod retry;
