import { repensarLint } from "@repensar/eslint-config";

export default repensarLint(import.meta.dirname);
