"""What every RPC shares: interceptors (auth, error mapping, undecodable requests), rich errors,
pagination and the grpc.aio typing aliases."""
