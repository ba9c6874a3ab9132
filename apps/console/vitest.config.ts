import { repensarVitest } from "@repensar/vitest-config";

export default repensarVitest({ include: ["test"], fileParallelism: false });
