using Akka.Etcd.Protos.Errors;
using Google.Protobuf;

namespace Akka.Etcd.Api.Grpc;

/// <summary>A registered method: reads its request(s), runs the handler, writes the response(s).</summary>
internal abstract class GrpcMethod
{
    /// <summary>Runs one call; throws what the handler throws. The caller sends the status.</summary>
    public abstract Task InvokeAsync(GrpcServerCall call);
}

internal sealed class UnaryMethod<TReq, TResp> : GrpcMethod
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly MessageParser<TReq> _parser;
    private readonly Func<TReq, ServerCallContext, ValueTask<TResp>> _handler;

    public UnaryMethod(MessageParser<TReq> parser, Func<TReq, ServerCallContext, ValueTask<TResp>> handler)
    {
        _parser = parser;
        _handler = handler;
    }

    public override async Task InvokeAsync(GrpcServerCall call)
    {
        var request = await call.Reader.ReadAsync(_parser, call.Context.CancellationToken).ConfigureAwait(false)
            ?? throw new EtcdException(RpcStatusCode.Internal, "grpc: unary request has no message");
        var response = await _handler(request, call.Context).ConfigureAwait(false);
        // No flush: the completion sends the message and the trailers together.
        await call.WriteMessageAsync(response, flush: false, CancellationToken.None).ConfigureAwait(false);
    }
}

internal sealed class ServerStreamingMethod<TReq, TResp> : GrpcMethod
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly MessageParser<TReq> _parser;
    private readonly Func<TReq, IServerStreamWriter<TResp>, ServerCallContext, Task> _handler;

    public ServerStreamingMethod(MessageParser<TReq> parser, Func<TReq, IServerStreamWriter<TResp>, ServerCallContext, Task> handler)
    {
        _parser = parser;
        _handler = handler;
    }

    public override async Task InvokeAsync(GrpcServerCall call)
    {
        var request = await call.Reader.ReadAsync(_parser, call.Context.CancellationToken).ConfigureAwait(false)
            ?? throw new EtcdException(RpcStatusCode.Internal, "grpc: server-streaming request has no message");
        await _handler(request, new ServerStreamWriter<TResp>(call), call.Context).ConfigureAwait(false);
    }
}

internal sealed class DuplexStreamingMethod<TReq, TResp> : GrpcMethod
    where TReq : class, IMessage<TReq>
    where TResp : class, IMessage<TResp>
{
    private readonly MessageParser<TReq> _parser;
    private readonly Func<IAsyncStreamReader<TReq>, IServerStreamWriter<TResp>, ServerCallContext, Task> _handler;

    public DuplexStreamingMethod(MessageParser<TReq> parser, Func<IAsyncStreamReader<TReq>, IServerStreamWriter<TResp>, ServerCallContext, Task> handler)
    {
        _parser = parser;
        _handler = handler;
    }

    public override Task InvokeAsync(GrpcServerCall call) =>
        _handler(new ServerStreamReader<TReq>(call, _parser), new ServerStreamWriter<TResp>(call), call.Context);
}
