using Akka.Etcd.Protos.Errors;
using Akka.Etcd.Api.Services;
using Etcdserverpb;
using Google.Protobuf;

namespace Akka.Etcd.Api.Tests.Services;

public sealed class KvRequestValidationTests
{
    static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    static RequestOp Put(string key) => new() { RequestPut = new PutRequest { Key = B(key), Value = B("v") } };
    static RequestOp Del(string key, string? end = null) =>
        new() { RequestDeleteRange = new DeleteRangeRequest { Key = B(key), RangeEnd = end is null ? ByteString.Empty : B(end) } };
    static RequestOp Get(string key) => new() { RequestRange = new RangeRequest { Key = B(key) } };
    static RequestOp Nested(TxnRequest txn) => new() { RequestTxn = txn };

    static void AssertError(EtcdException expected, Action action)
    {
        var error = Assert.Throws<EtcdException>(action);
        Assert.Equal(expected.Message, error.Message);
        Assert.Equal(expected.Code, error.Code);
    }

    [Fact]
    public void Empty_keys_are_rejected()
    {
        AssertError(EtcdErrors.EmptyKey, () => KvRequestValidation.ValidateRange(new RangeRequest()));
        AssertError(EtcdErrors.EmptyKey, () => KvRequestValidation.ValidatePut(new PutRequest { Value = B("v") }));
        AssertError(EtcdErrors.EmptyKey, () => KvRequestValidation.ValidateDeleteRange(new DeleteRangeRequest()));
        AssertError(EtcdErrors.EmptyKey, () => KvRequestValidation.ValidateTxn(new TxnRequest { Compare = { new Compare() } }));
        AssertError(EtcdErrors.EmptyKey, () => KvRequestValidation.ValidateTxn(new TxnRequest { Success = { Put("") } }));
    }

    [Fact]
    public void Put_flags_conflicting_with_values_are_rejected()
    {
        AssertError(EtcdErrors.ValueProvided, () => KvRequestValidation.ValidatePut(new PutRequest { Key = B("k"), Value = B("v"), IgnoreValue = true }));
        AssertError(EtcdErrors.LeaseProvided, () => KvRequestValidation.ValidatePut(new PutRequest { Key = B("k"), Lease = 1, IgnoreLease = true }));
        KvRequestValidation.ValidatePut(new PutRequest { Key = B("k"), IgnoreValue = true, IgnoreLease = true });
    }

    [Fact]
    public void Unknown_sort_enums_are_rejected()
    {
        AssertError(KvRequestValidation.InvalidSortOption, () => KvRequestValidation.ValidateRange(
            new RangeRequest { Key = B("k"), SortOrder = (RangeRequest.Types.SortOrder)7 }));
        AssertError(KvRequestValidation.InvalidSortOption, () => KvRequestValidation.ValidateRange(
            new RangeRequest { Key = B("k"), SortTarget = (RangeRequest.Types.SortTarget)9 }));
        KvRequestValidation.ValidateRange(new RangeRequest { Key = B("k"), SortOrder = RangeRequest.Types.SortOrder.Descend });
    }

    [Fact]
    public void Too_many_ops_per_branch_or_compares()
    {
        var ok = new TxnRequest();
        for (var i = 0; i < 4; i++) ok.Success.Add(Put($"k{i}"));
        KvRequestValidation.ValidateTxn(ok, maxTxnOps: 4);
        ok.Failure.Add(Put("x"));
        KvRequestValidation.ValidateTxn(ok, maxTxnOps: 4); // the limit is per list, not per txn

        var tooMany = new TxnRequest();
        for (var i = 0; i < 5; i++) tooMany.Compare.Add(new Compare { Key = B($"c{i}") });
        AssertError(EtcdErrors.TooManyOps, () => KvRequestValidation.ValidateTxn(tooMany, maxTxnOps: 4));

        // a nested txn gets the budget minus its parent's largest list (etcd's maxTxnOps - opc)
        var nested = new TxnRequest { Success = { Put("n1"), Put("n2") } };
        var parent = new TxnRequest { Success = { Put("p1"), Put("p2"), Nested(nested) } };
        AssertError(EtcdErrors.TooManyOps, () => KvRequestValidation.ValidateTxn(parent, maxTxnOps: 4));
        KvRequestValidation.ValidateTxn(parent, maxTxnOps: 5);
    }

    [Fact]
    public void Empty_request_op_is_rejected_as_key_not_found()
    {
        AssertError(EtcdErrors.KeyNotFound, () => KvRequestValidation.ValidateTxn(new TxnRequest { Success = { new RequestOp() } }));
    }

    public static TheoryData<string, TxnRequest, bool> Duplicates => new()
    {
        { "two puts of one key", new TxnRequest { Success = { Put("a"), Put("a") } }, true },
        { "put and delete of one key", new TxnRequest { Success = { Put("a"), Del("a") } }, true },
        { "put inside a deleted range", new TxnRequest { Success = { Del("a", "c"), Put("b") } }, true },
        { "put outside a deleted range", new TxnRequest { Success = { Del("a", "c"), Put("c") } }, false },
        { "put inside a from-key delete", new TxnRequest { Success = { Del("a", "\0"), Put("zzz") } }, true },
        { "overlapping deletes are fine", new TxnRequest { Success = { Del("a", "c"), Del("b", "d") } }, false },
        { "puts in different branches", new TxnRequest { Success = { Put("a") }, Failure = { Put("a") } }, false },
        { "reads do not count", new TxnRequest { Success = { Put("a"), Get("a") } }, false },
        { "nested put clashes with outer put", new TxnRequest { Success = { Put("a"), Nested(new TxnRequest { Success = { Put("a") } }) } }, true },
        { "nested put clashes with outer delete", new TxnRequest { Success = { Del("a", "z"), Nested(new TxnRequest { Failure = { Put("b") } }) } }, true },
        { "outer put clashes with nested delete", new TxnRequest { Success = { Put("b"), Nested(new TxnRequest { Success = { Del("a", "z") } }) } }, true },
        { "nested then and else may put the same key", new TxnRequest { Success = { Nested(new TxnRequest { Success = { Put("a") }, Failure = { Put("a") } }) } }, false },
        { "two nested txns putting one key", new TxnRequest { Success = { Nested(new TxnRequest { Success = { Put("a") } }), Nested(new TxnRequest { Failure = { Put("a") } }) } }, true },
    };

    [Theory]
    [MemberData(nameof(Duplicates))]
    public void Duplicate_keys_in_a_branch(string because, TxnRequest request, bool rejected)
    {
        Assert.NotNull(because);
        if (rejected) AssertError(EtcdErrors.DuplicateKey, () => KvRequestValidation.ValidateTxn(request));
        else KvRequestValidation.ValidateTxn(request);
    }
}
