// orval's configuration for make sdk-matrix: the fetch client, the base URL taken from the served spec's
// `servers`, and header parameters (Idempotency-Key, If-Match) in the generated signatures.
module.exports = {
  partnerApi: {
    input: { target: process.env.ORVAL_INPUT },
    output: {
      target: process.env.ORVAL_OUTPUT,
      client: 'fetch',
      mode: 'single',
      headers: true,
      baseUrl: { getBaseUrlFromSpecification: true },
    },
  },
};
