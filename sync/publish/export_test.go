package publish

// Backoff exposes the back-off schedule to the tests.
var Backoff = backoff
