import type { ListenOptions, Server } from "node:net";

/** Starts listening and resolves once bound; rejects with the bind error (EADDRINUSE, EACCES). */
export function listen(server: Server, options: ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
