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
    });
  })
  .catch((error) => {
    document.getElementById("swagger-ui").textContent =
      "The API description (openapi.json) could not be loaded: " + error;
  });
