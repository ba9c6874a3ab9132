import { repensarVitest } from "@repensar/vitest-config";

export default repensarVitest();
