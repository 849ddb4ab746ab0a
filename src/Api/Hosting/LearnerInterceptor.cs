using Akka.Etcd.Actors.Server;
using Akka.Etcd.Protos.Errors;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Akka.Etcd.Api.Hosting;

/// <summary>
/// etcd 3.4's learner gate on the client port (v3rpc interceptor.go): while this member is a learner
/// (<see cref="MemberGateway.IsLearner"/>), a unary call other than Maintenance.Status or a serializable KV.Range, and every
/// streaming call (Watch, LeaseKeepAlive, Snapshot, Observe, ...), is refused with UNAVAILABLE "etcdserver: rpc not
/// supported for learner" before it reaches the service. Registered after <see cref="EtcdErrorInterceptor"/>, which
/// words the refusal. Stateless; thread-safe.
/// </summary>
public sealed class LearnerInterceptor : Interceptor
{
    private readonly MemberGateway _member;

    /// <summary>Creates the gate over the running member.</summary>
    public LearnerInterceptor(MemberGateway member) => _member = member;

    /// <summary>etcd's <c>isRPCSupportedForLearner</c>: Status, and Range when serializable.</summary>
    public static bool IsSupportedForLearner(object request) => request switch
    {
        StatusRequest => true,
        RangeRequest range => range.Serializable,
        _ => false,
    };

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (_member.IsLearner && !IsSupportedForLearner(request))
        {
            throw EtcdErrors.NotSupportedForLearner;
        }
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        RefuseStreamOnLearner();
        return continuation(requestStream, context);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        RefuseStreamOnLearner();
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        RefuseStreamOnLearner();
        return continuation(requestStream, responseStream, context);
    }

    private void RefuseStreamOnLearner()
    {
        if (_member.IsLearner)
        {
            throw EtcdErrors.NotSupportedForLearner;
        }
    }
}
