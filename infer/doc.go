// Package infer turns HTTP exchanges into one OpenAPI 3.0.3 document per
// service: path templates, operations, parameters, bodies, responses,
// security schemes, with the sample counts a gate needs to weigh them.
//
// A service is the server the requests went to: the Host header, else the
// server's address and port.
//
// The document is the whole state of the inference. Counts and the flags
// that later decisions need are kept in `x-specgate` extensions, so that
// documents inferred from separate traffic merge (Inferrer.AddDocument) into
// exactly the document that the traffic together gives, in any order, and
// the same traffic in any order gives the same bytes. The extensions:
//
//	document    x-specgate: {service, unrouted}
//	            unrouted holds, as a paths object, the operations that
//	            were only ever answered 404 or 405: kept for merging, not
//	            presented as operations.
//	operation   x-specgate: {samples, accepted, callers, moreCallers, anonymous}
//	            samples: requests seen; accepted (when not all were):
//	            requests not refused with a 4xx, the ones whose
//	            parameters and bodies the operation describes (negative
//	            tests send what an API rejects); callers: the clients seen calling
//	            it (at most 32, the first in byte order; moreCallers is
//	            true when there were others); anonymous: false when
//	            every request without credentials was refused (4xx)
//	            and none had credentials, so nothing is known of its
//	            security.
//	parameter   x-specgate: {samples, present, variable, given}
//	            samples: requests described (accepted ones); present:
//	            requests that had it; variable (path parameters): every value at this position
//	            belongs to the parameter, not only identifiers; given:
//	            the name a baseline or an earlier document gave it.
//	requestBody x-specgate: {samples, present}, as for parameters.
//	response    x-specgate: {samples}
//	media type  x-specgate: {samples}
//	schema      x-specgate: see package infer/schema.
//
// WriteDocument with Clean drops every extension, for publishing; a clean
// document no longer merges.
package infer
