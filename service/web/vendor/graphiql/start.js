// Mounts GraphiQL against this page's own endpoint. Loaded by GET /graphql in development.
/* global React, ReactDOM, GraphiQL */
(function start() {
  const url = window.location.href.split('?')[0].split('#')[0];
  const params = new URLSearchParams(window.location.search);
  const fetcher = GraphiQL.createFetcher({ url });
  const initial = params.get('q') || '# groupbuy GraphQL API\n# Headers: {"X-Tenant": "<slug>"} to sign in with tokenCreate,\n# then {"Authorization": "Bearer <token>"}.\n\nquery Tenant {\n  tenant { name timezone currency }\n}\n';
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: initial,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  }));
}());
