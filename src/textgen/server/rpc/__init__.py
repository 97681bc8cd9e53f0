"""What every RPC shares: the policies (auth, error mapping, undecodable requests) and the one
interceptor that applies them, rich errors, pagination and the grpc.aio typing aliases."""
