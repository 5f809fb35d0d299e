package trafficgen

// The system under test: five services, the clients that call them, and
// every operation with its request and response shapes. These tables are
// the whole variety of the traffic.

// errStyle is how a service words its error bodies.
type errStyle uint8

const (
	styleSimple  errStyle = iota // {"error":"not_found","message":"..."}
	styleNested                  // {"error":{"code":"NOT_FOUND","message":"...","request_id":"..."}}
	styleProblem                 // application/problem+json (RFC 9457)
)

// service is one server of the system.
type service struct {
	host    string // Host header
	ip      [4]byte
	port    uint16
	agent   string // User-Agent of the calls it makes to other services
	json    string // Content-Type of its JSON bodies
	style   errStyle
	server  string // Server header, or ""
	newline bool   // its JSON bodies end in a newline, as Go's json.Encoder writes them
	tenant  bool   // its requests carry X-Tenant-Id
}

const (
	svcTodo = iota
	svcUsers
	svcBilling
	svcStats
	svcCatalog
	numServices
)

var services = [numServices]service{
	svcTodo:    {host: "todo.internal:8080", ip: [4]byte{10, 0, 1, 10}, port: 8080, agent: "todo-service/1.4", json: "application/json", style: styleSimple, newline: true, tenant: true},
	svcUsers:   {host: "users.internal:8080", ip: [4]byte{10, 0, 1, 11}, port: 8080, agent: "users-service/3.2", json: "application/json; charset=utf-8", style: styleNested, newline: true, tenant: true},
	svcBilling: {host: "billing.internal:9000", ip: [4]byte{10, 0, 1, 12}, port: 9000, agent: "billing-service/2.3", json: "application/json", style: styleProblem, server: "gunicorn", tenant: true},
	svcStats:   {host: "stats.internal:8081", ip: [4]byte{10, 0, 1, 13}, port: 8081, agent: "stats-service/0.9", json: "application/json", style: styleSimple},
	svcCatalog: {host: "catalog.internal:8080", ip: [4]byte{10, 0, 1, 14}, port: 8080, agent: "catalog-service/1.1", json: "application/json; charset=utf-8", style: styleNested, server: "nginx/1.25.4"},
}

// testClients are the addresses the integration tests run from; each
// connection from them names itself with one of testAgents.
var (
	testClients = [...][4]byte{{10, 0, 0, 5}, {10, 0, 0, 6}, {172, 17, 0, 1}}
	testAgents  = [...]string{"Go-http-client/1.1", "integration-tests/1.0"}
	tenants     = [...]string{"acme", "globex", "initech", "umbrella"}
)

// auth is how a request authenticates.
type auth uint8

const (
	authBearer auth = iota // Authorization: Bearer
	authNone               // nothing
	authAPIKey             // X-Api-Key (admin endpoints)
	authCookie             // a session cookie, and a bearer token on some requests
)

// Callers of an operation: bit s for service s, byTests for the tests.
const byTests = 1 << numServices

func by(svcs ...int) uint16 {
	var m uint16
	for _, s := range svcs {
		m |= 1 << s
	}
	return m
}

// op is one operation of one service.
type op struct {
	svc    int
	method string
	// path is a template: {uuid}, {int} and {date} become fresh values.
	path   string
	query  []field
	req    field // request body; kind kNone for none
	resp   field // body of the success response; kind kNone for none
	status int   // success status
	auth   auth
	by     uint16 // callers; 0 means the tests only
	loc    string // on success, Location is the path followed by loc (a template)
	weight int    // relative frequency
}

// Query parameters.
var (
	qLimit  = opt(80, vEnum("limit", "10", "20", "50", "100"))
	qOffset = opt(50, vEnum("offset", "0", "20", "40", "100"))
	qQuery  = opt(25, vText("q", 1, 2))
)

// Shared sub-objects.
var (
	userRef  = []field{vUUID("id"), vName("name"), opt(85, vEmail("email"))}
	address  = []field{vText("line1", 2, 4), opt(30, vText("line2", 1, 3)), vEnum("city", "Amsterdam", "Berlin", "Lyon", "Leeds", "Austin", "Zürich", "Porto"), vCode("postal_code", "", 4, 5), vEnum("country", "NL", "DE", "FR", "GB", "US", "CH", "PT")}
	currency = vEnum("currency", "EUR", "USD", "GBP")
)

// todo service
var (
	todoFields = []field{
		vUUID("id"), vUUID("list_id"), vText("title", 2, 7),
		opt(75, nul(10, vText("description", 4, 40))),
		vBool("done"), opt(90, vEnum("priority", "low", "normal", "high", "urgent")),
		opt(80, nul(25, vDate("due"))), opt(85, vTags("tags", 0, 4)), vInt("position", 0, 5000),
		opt(80, vObj("owner", userRef...)),
		opt(75, vList("subtasks", 0, 5, vUUID("id"), vText("title", 2, 5), vBool("done"))),
		vTime("created_at"), opt(90, vTime("updated_at")), opt(85, nul(60, vTime("completed_at"))),
	}
	todo        = vObj("", todoFields...)
	commentBody = []field{vUUID("id"), vObj("author", userRef...), vText("body", 3, 50), opt(80, vBool("edited")), vTime("created_at")}
	healthBody  = vObj("", vEnum("status", "ok"), vEnum("version", "1.4.2", "1.4.3"), vInt("uptime_s", 1, 86400),
		opt(90, vObj("checks", vEnum("redis", "ok", "degraded"), opt(80, vEnum("stats", "ok", "unreachable")))))
)

// users service
var (
	userFields = []field{
		vUUID("id"), vEmail("email"), vName("name"), opt(80, vText("display_name", 1, 2)),
		vEnum("role", "member", "admin", "viewer", "owner"), vEnum("status", "active", "invited", "suspended"),
		vUUID("org_id"), vTime("created_at"), opt(90, nul(15, vTime("last_login_at"))),
		opt(70, vURL("avatar_url", "https://cdn.example.com/avatars/")),
		opt(85, vEnum("locale", "en-US", "de-DE", "fr-FR", "nl-NL")), opt(80, vEnum("timezone", "Europe/Amsterdam", "Europe/Berlin", "America/Chicago", "UTC")),
		opt(60, vObj("address", address...)),
		opt(75, vObj("preferences", vEnum("theme", "light", "dark", "system"), vBool("notifications"), opt(70, vInt("page_size", 10, 100)))),
		vBool("mfa_enabled"),
	}
	user        = vObj("", userFields...)
	orderFields = []field{
		vInt("id", 1, 9999999), vUUID("user_id"), vEnum("status", "pending", "paid", "shipped", "delivered", "cancelled"),
		vList("items", 1, 6, vInt("product_id", 1, 99999), vCode("sku", "SKU-", 5, 5), vText("name", 2, 4), vInt("quantity", 1, 5), vMoney("unit_price", 199, 19999), vMoney("total", 199, 99999)),
		vMoney("subtotal", 500, 200000), vMoney("tax", 0, 40000), vMoney("total", 500, 240000), currency,
		vTime("created_at"), opt(90, nul(50, vTime("shipped_at"))), opt(85, vObj("shipping_address", address...)),
		opt(30, nul(40, vText("notes", 3, 20))),
	}
	order     = vObj("", orderFields...)
	orderPage = vObj("", vList("data", 0, 12, orderFields...), vInt("total", 0, 500), vInt("limit", 10, 100), vInt("offset", 0, 100))
)

// billing service
var (
	invoiceFields = []field{
		vInt("id", 1, 9999999), vCode("number", "INV-2024-", 6, 6), vUUID("customer_id"),
		vEnum("status", "draft", "open", "paid", "void", "uncollectible"), currency,
		vInt("amount_due", 0, 500000), vInt("amount_paid", 0, 500000),
		vList("lines", 1, 5, vText("description", 2, 8), vInt("quantity", 1, 20), vInt("unit_amount", 100, 50000), vInt("amount", 100, 500000),
			opt(70, vObj("period", vDate("start"), vDate("end")))),
		vDate("due_date"), vUnix("created"), opt(90, nul(45, vUnix("paid_at"))),
		opt(50, vObj("metadata", vEnum("source", "api", "dashboard", "subscription"), opt(40, vWord("campaign")))),
		opt(80, vURL("pdf_url", "https://files.billing.example.com/invoices/")),
		vBool("livemode"),
	}
	invoice     = vObj("", invoiceFields...)
	invoiceList = vObj("", vEnum("object", "list"), vList("data", 0, 12, invoiceFields...), vBool("has_more"), vURL("url", "https://billing.internal/v1/invoices/"))
	customer    = vObj("", vUUID("id"), vEmail("email"), vName("name"), vInt("balance", -5000, 50000), currency,
		opt(80, vObj("address", address...)), opt(40, nul(30, vCode("vat_number", "NL", 9, 9))), vBool("delinquent"), vUnix("created"),
		opt(70, vObj("invoice_settings", vEnum("default_payment_method", "card", "sepa_debit", "invoice"), opt(60, vText("footer", 3, 12)))))
	ledgerEntry = []field{vUUID("id"), vEnum("type", "charge", "refund", "payout", "adjustment"), vInt("amount", -100000, 100000), currency,
		vUnix("created"), opt(80, vInt("invoice_id", 1, 9999999)), opt(60, vText("description", 2, 10)), vInt("balance_after", -500000, 5000000)}
)

// stats service
var (
	eventFields = []field{
		vEnum("type", "todo.created", "todo.completed", "todo.deleted", "user.signed_up", "order.paid", "invoice.paid", "product.viewed"),
		vTimeMs("occurred_at"), vUUID("actor_id"), opt(90, vUUID("subject_id")),
		opt(80, vObj("properties", vEnum("source", "web", "ios", "android", "api"), opt(60, vInt("duration_ms", 1, 120000)), opt(40, vInt("count", 1, 50)))),
	}
	report = vObj("", vDate("date"),
		vObj("totals", vInt("todos_created", 0, 100000), vInt("todos_completed", 0, 100000), vInt("users_active", 0, 20000), vInt("orders", 0, 5000), vMoney("revenue", 0, 100000000)),
		vList("by_hour", 24, 24, vInt("hour", 0, 23), vInt("requests", 0, 500000), vInt("errors", 0, 5000), vFloat("p95_ms", 1000, 900000)),
		opt(85, vList("top_users", 0, 10, vUUID("user_id"), vInt("events", 1, 5000))),
		vTimeMs("generated_at"))
)

// catalog service
var (
	productFields = []field{
		vInt("id", 1, 99999), vCode("sku", "SKU-", 5, 5), vText("name", 2, 5), opt(85, vText("description", 10, 60)),
		vMoney("price", 199, 99999), currency, vBool("in_stock"), vInt("stock", 0, 900), vTags("categories", 1, 3),
		opt(90, vList("images", 0, 4, vURL("url", "https://cdn.example.com/products/"), opt(70, vText("alt", 2, 6)), vInt("width", 200, 2400), vInt("height", 200, 2400))),
		opt(80, vObj("attributes", opt(70, vEnum("color", "black", "white", "red", "blue", "green")), opt(60, vEnum("size", "XS", "S", "M", "L", "XL")), opt(50, vInt("weight_g", 10, 20000)), opt(40, vWord("material")))),
		opt(80, nul(20, vFloat("rating", 1000, 5000))), vInt("review_count", 0, 4000), vTime("created_at"), vTime("updated_at"),
	}
	product      = vObj("", productFields...)
	reviewFields = []field{vUUID("id"), vInt("product_id", 1, 99999), vObj("author", userRef...), vInt("rating", 1, 5), opt(80, vText("title", 2, 8)),
		vText("body", 5, 80), vBool("verified"), vInt("helpful_votes", 0, 300), vTime("created_at")}
)

// userPage is a page of lo to hi users.
func userPage(lo, hi int) field {
	return vObj("", vList("data", lo, hi, userFields...), vInt("total", 0, 5000), vInt("limit", 10, 100), vInt("offset", 0, 500))
}

// ops lists every operation; weight sets how often the tests run it.
var ops = [...]op{
	// todo
	{svc: svcTodo, method: "GET", path: "/todos", query: []field{qLimit, qOffset, opt(40, vEnum("done", "true", "false")), opt(30, vEnum("sort", "created_at", "-created_at", "due", "priority")), qQuery},
		resp: vList("", 0, 20, todoFields...), status: 200, weight: 120},
	{svc: svcTodo, method: "POST", path: "/todos", req: vObj("", vText("title", 2, 7), opt(70, vText("description", 4, 40)), opt(60, vDate("due")), opt(80, vEnum("priority", "low", "normal", "high", "urgent")), opt(70, vTags("tags", 0, 4)), opt(50, vUUID("list_id"))),
		resp: todo, status: 201, loc: "/{uuid}", weight: 60},
	{svc: svcTodo, method: "GET", path: "/todos/{uuid}", resp: todo, status: 200, weight: 100},
	{svc: svcTodo, method: "PUT", path: "/todos/{uuid}", req: vObj("", vText("title", 2, 7), vText("description", 4, 40), vBool("done"), vEnum("priority", "low", "normal", "high", "urgent"), nul(30, vDate("due")), vTags("tags", 0, 4)),
		resp: todo, status: 200, weight: 30},
	{svc: svcTodo, method: "PATCH", path: "/todos/{uuid}", req: vObj("", opt(80, vBool("done")), opt(40, vText("title", 2, 7)), opt(30, vEnum("priority", "low", "normal", "high", "urgent"))),
		resp: todo, status: 200, weight: 50},
	{svc: svcTodo, method: "DELETE", path: "/todos/{uuid}", status: 204, weight: 30},
	{svc: svcTodo, method: "GET", path: "/todos/{uuid}/comments", query: []field{qLimit}, resp: vList("", 0, 10, commentBody...), status: 200, weight: 30},
	{svc: svcTodo, method: "POST", path: "/todos/{uuid}/comments", req: vObj("", vText("body", 3, 50)), resp: vObj("", commentBody...), status: 201, weight: 20},
	{svc: svcTodo, method: "GET", path: "/lists", resp: vList("", 1, 8, vUUID("id"), vText("name", 1, 3), opt(70, vEnum("color", "red", "blue", "green", "grey")), vInt("todo_count", 0, 300), vBool("archived")), status: 200, weight: 20},
	{svc: svcTodo, method: "GET", path: "/healthz", resp: healthBody, status: 200, auth: authNone, weight: 15},

	// users
	{svc: svcUsers, method: "GET", path: "/users", query: []field{qLimit, qOffset, qQuery, opt(30, vEnum("sort", "name", "-created_at", "email")), opt(30, vEnum("status", "active", "invited", "suspended"))},
		resp: userPage(0, 20), status: 200, weight: 50},
	{svc: svcUsers, method: "POST", path: "/users", req: vObj("", vEmail("email"), vName("name"), opt(80, vEnum("role", "member", "admin", "viewer")), opt(50, vEnum("locale", "en-US", "de-DE", "fr-FR", "nl-NL")), opt(90, vSecret("password"))),
		resp: user, status: 201, loc: "/{uuid}", weight: 20},
	{svc: svcUsers, method: "GET", path: "/users/me", resp: user, status: 200, auth: authCookie, weight: 60},
	{svc: svcUsers, method: "GET", path: "/users/{uuid}", resp: user, status: 200, by: byTests | by(svcTodo, svcBilling), weight: 80},
	{svc: svcUsers, method: "PATCH", path: "/users/{uuid}", req: vObj("", opt(50, vName("name")), opt(40, vText("display_name", 1, 2)), opt(30, vEnum("locale", "en-US", "de-DE", "fr-FR", "nl-NL")), opt(30, vObj("preferences", vEnum("theme", "light", "dark", "system"), opt(60, vBool("notifications"))))),
		resp: user, status: 200, weight: 20},
	{svc: svcUsers, method: "DELETE", path: "/users/{uuid}", status: 204, weight: 10},
	{svc: svcUsers, method: "GET", path: "/users/{uuid}/orders", query: []field{qLimit, qOffset, opt(30, vEnum("status", "pending", "paid", "shipped", "delivered", "cancelled"))},
		resp: orderPage, status: 200, weight: 40},
	{svc: svcUsers, method: "GET", path: "/users/{uuid}/orders/{int}", resp: order, status: 200, by: byTests | by(svcBilling), weight: 40},
	{svc: svcUsers, method: "POST", path: "/users/{uuid}/orders", req: vObj("", vList("items", 1, 5, vInt("product_id", 1, 99999), vInt("quantity", 1, 5)), opt(20, vCode("coupon", "SAVE", 2, 2)), opt(80, vObj("shipping_address", address...))),
		resp: order, status: 201, loc: "/{int}", weight: 20},
	{svc: svcUsers, method: "DELETE", path: "/users/{uuid}/sessions/{int}", status: 204, weight: 8},
	{svc: svcUsers, method: "POST", path: "/login", req: vObj("", vEmail("email"), vSecret("password"), opt(30, vBool("remember_me"))),
		resp:   vObj("", vSecret("access_token"), vEnum("token_type", "Bearer"), vInt("expires_in", 3600, 3600), opt(80, vSecret("refresh_token")), vObj("user", userRef...)),
		status: 200, auth: authNone, weight: 20},
	{svc: svcUsers, method: "POST", path: "/logout", status: 204, auth: authCookie, weight: 10},
	{svc: svcUsers, method: "GET", path: "/admin/users", query: []field{qLimit, qOffset, opt(40, vEnum("role", "member", "admin", "viewer", "owner"))},
		resp: userPage(5, 20), status: 200, auth: authAPIKey, weight: 5},

	// billing
	{svc: svcBilling, method: "GET", path: "/invoices", query: []field{qLimit, opt(30, vEnum("status", "draft", "open", "paid", "void")), opt(30, vUUID("customer")), opt(20, vInt("starting_after", 1, 9999999))},
		resp: invoiceList, status: 200, by: byTests | by(svcUsers), weight: 40},
	{svc: svcBilling, method: "GET", path: "/invoices/{int}", resp: invoice, status: 200, by: byTests | by(svcUsers), weight: 40},
	{svc: svcBilling, method: "POST", path: "/invoices", req: vObj("", vUUID("customer_id"), currency, vList("lines", 1, 8, vText("description", 2, 8), vInt("quantity", 1, 20), vInt("unit_amount", 100, 50000)), opt(70, vDate("due_date")), opt(40, vObj("metadata", vEnum("source", "api", "dashboard", "subscription")))),
		resp: invoice, status: 201, by: byTests | by(svcUsers), loc: "/{int}", weight: 20},
	{svc: svcBilling, method: "POST", path: "/invoices/{int}/pay", req: vObj("", vEnum("payment_method", "card", "sepa_debit", "invoice"), opt(60, vInt("amount", 100, 500000))),
		resp: invoice, status: 200, weight: 20},
	{svc: svcBilling, method: "GET", path: "/customers/{uuid}", resp: customer, status: 200, by: byTests | by(svcUsers), weight: 30},
	{svc: svcBilling, method: "GET", path: "/customers/{uuid}/invoices", query: []field{qLimit}, resp: invoiceList, status: 200, weight: 20},
	{svc: svcBilling, method: "POST", path: "/refunds", req: vObj("", vInt("invoice_id", 1, 9999999), vInt("amount", 100, 500000), opt(80, vEnum("reason", "duplicate", "fraudulent", "requested_by_customer"))),
		resp:   vObj("", vUUID("id"), vInt("invoice_id", 1, 9999999), vInt("amount", 100, 500000), vEnum("status", "pending", "succeeded", "failed"), vUnix("created")),
		status: 201, weight: 10},
	{svc: svcBilling, method: "GET", path: "/plans", resp: vList("", 3, 6, vEnum("id", "free", "pro", "team", "enterprise"), vText("name", 1, 2), vInt("price", 0, 9900), currency, vEnum("interval", "month", "year"), vTags("features", 2, 8), nul(40, vInt("trial_days", 7, 30))),
		status: 200, auth: authNone, weight: 15},
	{svc: svcBilling, method: "GET", path: "/admin/ledger", query: []field{opt(90, vDate("from")), opt(90, vDate("to")), opt(70, vEnum("limit", "50", "100", "200"))},
		resp: vObj("", vList("entries", 20, 150, ledgerEntry...), vInt("total", 0, 100000), vDate("from"), vDate("to")), status: 200, auth: authAPIKey, weight: 3},

	// stats
	{svc: svcStats, method: "POST", path: "/events", req: vObj("", eventFields...), resp: vObj("", vBool("accepted"), vUUID("id"), vTimeMs("received_at"), vEnum("queue", "events", "events-priority"), vInt("partition", 0, 11)), status: 202, by: by(svcTodo, svcUsers, svcBilling, svcCatalog), weight: 80},
	{svc: svcStats, method: "POST", path: "/events/batch", req: vObj("", vList("events", 1, 20, eventFields...)),
		resp: vObj("", vUUID("batch_id"), vInt("accepted", 0, 20), vInt("rejected", 0, 3), vTimeMs("received_at"), opt(20, vList("errors", 1, 3, vInt("index", 0, 19), vText("reason", 2, 6)))), status: 202, by: by(svcTodo, svcUsers), weight: 20},
	{svc: svcStats, method: "GET", path: "/reports/{date}", resp: report, status: 200, weight: 15},
	{svc: svcStats, method: "GET", path: "/stats/todos", query: []field{opt(60, vDate("from")), opt(60, vDate("to"))},
		resp: vObj("", vInt("total", 0, 100000), vInt("done", 0, 100000), vInt("open", 0, 100000), vInt("overdue", 0, 5000), vFloat("completion_rate", 0, 1000),
			vObj("by_priority", vInt("low", 0, 9999), vInt("normal", 0, 9999), vInt("high", 0, 9999), vInt("urgent", 0, 999))),
		status: 200, by: byTests | by(svcTodo), weight: 30},
	{svc: svcStats, method: "GET", path: "/stats/users/{uuid}", resp: vObj("", vUUID("user_id"), vInt("todos_total", 0, 5000), vInt("todos_done", 0, 5000), vInt("streak_days", 0, 365), nul(20, vTimeMs("last_active_at"))),
		status: 200, weight: 20},
	{svc: svcStats, method: "GET", path: "/healthz", resp: vObj("", vEnum("status", "ok")), status: 200, auth: authNone, weight: 10},

	// catalog
	{svc: svcCatalog, method: "GET", path: "/products", query: []field{qLimit, qOffset, qQuery, opt(30, vEnum("category", "books", "garden", "kitchen", "office", "toys")), opt(30, vEnum("sort", "price", "-price", "rating", "-created_at")), opt(20, vEnum("in_stock", "true", "false"))},
		resp: vObj("", vList("items", 0, 12, productFields...), vInt("total", 0, 20000), nul(30, vInt("next_offset", 20, 1000))), status: 200, auth: authNone, weight: 60},
	{svc: svcCatalog, method: "GET", path: "/products/{int}", resp: product, status: 200, auth: authNone, by: byTests | by(svcUsers), weight: 60},
	{svc: svcCatalog, method: "GET", path: "/products/{int}/reviews", query: []field{qLimit, opt(40, vEnum("sort", "helpful", "-created_at", "rating"))},
		resp: vList("", 0, 20, reviewFields...), status: 200, auth: authNone, weight: 20},
	{svc: svcCatalog, method: "POST", path: "/products/{int}/reviews", req: vObj("", vInt("rating", 1, 5), opt(80, vText("title", 2, 8)), vText("body", 5, 80)),
		resp: vObj("", reviewFields...), status: 201, weight: 10},
	{svc: svcCatalog, method: "PUT", path: "/admin/products/{int}", req: vObj("", vCode("sku", "SKU-", 5, 5), vText("name", 2, 5), vText("description", 10, 120), vMoney("price", 199, 99999), currency, vInt("stock", 0, 900), vTags("categories", 1, 3)),
		resp: product, status: 200, auth: authAPIKey, weight: 5},
	{svc: svcCatalog, method: "GET", path: "/categories", resp: vList("", 5, 15, vInt("id", 1, 500), vWord("slug"), vText("name", 1, 2), nul(40, vInt("parent_id", 1, 500)), vInt("product_count", 0, 5000)),
		status: 200, auth: authNone, weight: 10},
	{svc: svcCatalog, method: "GET", path: "/search", query: []field{vText("q", 1, 3), qLimit, opt(40, vEnum("type", "product", "category", "review"))},
		resp: vObj("", vText("query", 1, 3), vInt("took_ms", 1, 900), vInt("total", 0, 5000),
			vList("hits", 0, 20, vEnum("type", "product", "category", "review"), vInt("id", 1, 99999), vText("title", 2, 6), vFloat("score", 0, 30000), opt(60, vText("snippet", 5, 25)))),
		status: 200, auth: authNone, weight: 20},
}
