namespace Akka.Etcd.Protos.Errors;

/// <summary>
/// gRPC status codes (the numbers sent in the <c>grpc-status</c> trailer), as defined by
/// grpc/doc/statuscodes.md. etcd maps each of its errors to one of these.
/// </summary>
public enum RpcStatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,
    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,
    /// <summary>Unknown error.</summary>
    Unknown = 2,
    /// <summary>The client gave an invalid argument.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,
    /// <summary>A requested entity was not found.</summary>
    NotFound = 5,
    /// <summary>The entity the client tried to create already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller lacks permission.</summary>
    PermissionDenied = 7,
    /// <summary>A resource (size, quota, rate) was exhausted.</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state required for the operation.</summary>
    FailedPrecondition = 9,
    /// <summary>The operation was aborted.</summary>
    Aborted = 10,
    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,
    /// <summary>The operation is not implemented or not supported.</summary>
    Unimplemented = 12,
    /// <summary>An internal invariant was broken.</summary>
    Internal = 13,
    /// <summary>The service is currently unavailable; retry may succeed.</summary>
    Unavailable = 14,
    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,
    /// <summary>The request has no valid authentication credentials.</summary>
    Unauthenticated = 16,
}
