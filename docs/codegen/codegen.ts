// Typed TypeScript for a storefront, from the committed schema (the same SDL the service
// publishes at /docs/schema.graphql) and the storefront's operations in ./operations:
//   generated/schema.ts      every type of the schema (typescript plugin)
//   generated/operations.ts  each operation's variables and result (typescript-operations, which
//                            since v6 also emits the enums and inputs the operations use)
import type { CodegenConfig } from "@graphql-codegen/cli";

const out = process.env.GROUPBUY_CODEGEN_OUT ?? "generated";
// Money is a decimal string and times are ISO 8601 strings: never parsed into floats or Dates here.
const scalars = { DateTime: "string", Date: "string", Decimal: "string" };

const config: CodegenConfig = {
  schema: process.env.GROUPBUY_SCHEMA ?? "../../schema.graphql",
  documents: ["operations/*.graphql"],
  generates: {
    [`${out}/schema.ts`]: {
      plugins: ["typescript"],
      config: { scalars, strictScalars: true, enumsAsTypes: true, avoidOptionals: { field: true } },
    },
    [`${out}/operations.ts`]: {
      plugins: ["typescript-operations"],
      config: { scalars, strictScalars: true },
    },
  },
};

export default config;
