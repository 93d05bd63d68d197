// Swagger UI over this gateway's own OpenAPI description; "Authorize" takes a bearer token.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // the default validator is a remote service
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
