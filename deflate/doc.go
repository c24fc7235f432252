// Package deflate implements the permessage-deflate WebSocket extension
// (RFC 7692) on top of a push-style DEFLATE (RFC 1951) decompressor.
package deflate
