import { forward } from "@/lib/server";

export const dynamic = "force-dynamic";
export const GET = forward;
