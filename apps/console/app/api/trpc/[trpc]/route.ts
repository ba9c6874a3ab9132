import { handleTrpcRequest } from "@repensar/server/trpc";
import { getApp, transportOf } from "@/lib/server";

export const dynamic = "force-dynamic";

async function handle(request: Request): Promise<Response> {
  return handleTrpcRequest(await getApp(), request, transportOf(request));
}

export const GET = handle;
export const POST = handle;
