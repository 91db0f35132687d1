# A small asyncio keep-alive HTTP/1.1 backend that answers every request with 1000 bytes: fast
# enough that thousands of concurrent requests do not overload it (for load through ringlb).
import asyncio
import sys

BODY = b"f" * 1000
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + BODY


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(RESP)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
