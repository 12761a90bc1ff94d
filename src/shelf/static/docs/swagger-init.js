// Starts Swagger UI on /docs; a file of its own so the page's CSP allows no inline script.
// The spec names this server by a relative URL ("."), which holds behind any proxy or path
// prefix; the server list shows the address it stands for, rather than ". - This server".
fetch("openapi.json")
  .then((response) => response.json())
  .then((spec) => {
    const specUrl = new URL("openapi.json", window.location.href);
    spec.servers = (spec.servers || []).map((server) => ({
      ...server,
      url: new URL(server.url, specUrl).href.replace(/\/$/, ""),
    }));
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // Beside this page, so it holds behind a port mapping or a path prefix too.
      oauth2RedirectUrl: new URL("static/docs/oauth2-redirect.html", window.location.href).href,
      requestInterceptor: publicClientInTheBody,
    });
    // Shelf's own public client: the authorization code flow with PKCE, no secret. No scope is
    // ticked at first: a token asked for without one gets every scope the user's role allows.
    window.ui.initOAuth({
      clientId: "shelf",
      usePkceWithAuthorizationCodeGrant: true,
      scopes: [],
    });
  })
  .catch((error) => {
    document.getElementById("swagger-ui").textContent =
      "The API description (openapi.json) could not be loaded: " + error;
  });

// Swagger UI sends a token request's client as HTTP Basic even when it has no secret
// ("shelf:"), which is no client authentication; a public client names itself in the body.
function publicClientInTheBody(request) {
  const basic = (request.headers && request.headers.Authorization) || "";
  const isTokenRequest = typeof request.body === "string" && /(^|&)grant_type=/.test(request.body);
  if (isTokenRequest && basic.startsWith("Basic ")) {
    const credentials = atob(basic.slice("Basic ".length));
    if (credentials.endsWith(":")) {
      delete request.headers.Authorization;
      request.body += "&client_id=" + encodeURIComponent(credentials.slice(0, -1));
    }
  }
  return request;
}
