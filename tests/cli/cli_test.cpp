// The qforge binary as a user runs it: output, exit codes, one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace {

struct CliResult {
  int code;
  std::string out;  // stdout and stderr together
};

CliResult run(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " '" + std::string(QFORGE_CLI_PATH) + "' " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Cli, DtypesValueShowsOneThirdInEveryFloatType) {
  const CliResult r = run("dtypes --value 1/3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "0.333333343267440795898437500")) << r.out;  // f32
  EXPECT_TRUE(contains(r.out, "0.333251953125")) << r.out;                 // f16
  EXPECT_TRUE(contains(r.out, "0.333984375")) << r.out;                    // bf16
  EXPECT_TRUE(contains(r.out, "0.333333333333333314829616256247390992939472198486328125")) << r.out;  // f64
  EXPECT_TRUE(contains(r.out, "f8_e4m3")) << r.out;
}

TEST(Cli, DtypesTableListsEveryType) {
  const CliResult r = run("dtypes");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* t : {"f64", "f32", "f16", "bf16", "f8_e4m3", "f8_e5m2", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool", "i4",
                        "u4", "i3", "i2", "nf4", "fp4_e2m1", "ternary"})
    EXPECT_TRUE(contains(r.out, std::string("\n") + t + " ")) << t;
  EXPECT_TRUE(contains(r.out, "65504"));
  EXPECT_TRUE(contains(r.out, "57344"));
  EXPECT_TRUE(contains(r.out, "-9223372036854775808"));
  EXPECT_TRUE(contains(r.out, "18446744073709551615"));
}

TEST(Cli, DtypesJsonAndSaturation) {
  const CliResult r = run("dtypes --value 1000 --saturate --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "\"decimal\": \"448.")) << r.out;  // e4m3 saturates to 448
  const CliResult n = run("dtypes --value 1000");
  EXPECT_TRUE(contains(n.out, "nan")) << n.out;  // e4m3fn has no Inf
}

TEST(Cli, InfoReportsIsaAndHonoursTheCap) {
  const CliResult r = run("info");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "isa ")) << r.out;
  const CliResult s = run("info", "QFORGE_ISA=scalar");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_TRUE(contains(s.out, "isa       scalar")) << s.out;
  EXPECT_TRUE(contains(s.out, "convert f32<->f16/bf16            scalar")) << s.out;
  for (const char* family :  // every family honours the cap
       {"dot (f32/f16/bf16, GGUF blocks)   ", "grid (qforge's packed grids)      ", "w8a8 (int8 x int8 -> int32)       "})
    EXPECT_TRUE(contains(s.out, std::string(family) + "scalar")) << s.out;
}

TEST(Cli, BadInputGetsOneLineAndNonZeroExit) {
  for (const auto& [args, env, expect] : std::initializer_list<std::tuple<std::string, std::string, std::string>>{
           {"frobnicate", "", "unknown command 'frobnicate'; available: info, convert, quantize, run, eval, bench, synth, dtypes"},
           {"dtypes --value abc", "", "cannot read 'abc' as a number"},
           {"dtypes --bogus", "", "unknown argument '--bogus'"},
           {"info", "QFORGE_ISA=sse9", "supported: scalar, avx2, avx-vnni, avx512"},
           {"info /nonexistent/model.gguf", "", "/nonexistent/model.gguf: no such file"},
           {"convert /nonexistent/m.bin -o x.gguf", "", "no such file"},
           {"convert a b -o x.gguf", "", "exactly one input"}}) {
    const CliResult r = run(args, env);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(contains(r.out, "qforge: ")) << r.out;
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
  }
}

}  // namespace

namespace {

TEST(CliModels, InfoAndConvertStories260K) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const CliResult info = run("info '" + bin.string() + "' --tensors");
  ASSERT_EQ(info.code, 0) << info.out;
  EXPECT_TRUE(contains(info.out, "llama: 5 layers, hidden 64, ffn 172, heads 8 (kv 4, head_dim 8), vocab 512")) << info.out;
  EXPECT_TRUE(contains(info.out, "260032")) << info.out;
  EXPECT_TRUE(contains(info.out, "blk.4.ffn_down.weight")) << info.out;
  const std::string out = dir.file("s.gguf");
  const CliResult conv = run("convert '" + bin.string() + "' -o '" + out + "' --type q8_0");
  ASSERT_EQ(conv.code, 0) << conv.out;
  EXPECT_TRUE(contains(conv.out, "47 tensors")) << conv.out;
  const CliResult back = run("info '" + out + "' --json");
  ASSERT_EQ(back.code, 0) << back.out;
  EXPECT_TRUE(contains(back.out, "\"q8_0\"")) << back.out;
  EXPECT_TRUE(contains(back.out, "\"num_kv_heads\": 4")) << back.out;
}

TEST(CliModels, RunGeneratesGreedilyAndBySeed) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const CliResult g = run("run '" + bin.string() + "' -p 'Once upon a time' -n 12");
  ASSERT_EQ(g.code, 0) << g.out;
  EXPECT_TRUE(contains(g.out, "Once upon a time, there was a little girl named Lily")) << g.out;
  const CliResult a = run("run '" + bin.string() + "' -n 20 --temp 1 --top-k 40 --seed 7");
  const CliResult b = run("run '" + bin.string() + "' -n 20 --temp 1 --top-k 40 --seed 7 -t 1");
  const auto text = [](const std::string& out) { return out.substr(0, out.find('\n')); };  // before the speed line
  EXPECT_EQ(text(a.out), text(b.out)) << "a seed reproduces a sampled generation, whatever the thread count";
  const CliResult bad = run("run '" + bin.string() + "' --temp hot");
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(contains(bad.out, "--temp expects a number")) << bad.out;
}

TEST(CliModels, BenchReportsPromptAndGenerationRates) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  const CliResult b = run("bench '" + bin.string() + "' -p 16 -n 8 -r 3 -t 1");
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_TRUE(contains(b.out, "| model | size | params | type | threads | test | t/s |")) << b.out;
  EXPECT_TRUE(contains(b.out, "| f32 | 1 | pp16 | ")) << b.out;
  EXPECT_TRUE(contains(b.out, "| f32 | 1 | tg8 | ")) << b.out;
  const CliResult too_long = run("bench '" + bin.string() + "' -p 4096");
  EXPECT_EQ(too_long.code, 1);
  EXPECT_TRUE(contains(too_long.out, "has a context of 512 tokens, fewer than the 4096 asked for")) << too_long.out;
  const CliResult bad = run("bench '" + bin.string() + "' -r 0");
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(contains(bad.out, "-r expects an integer in 1..1000, got '0'")) << bad.out;
}

TEST(CliModels, QuantizeWithGptqWritesAGgufThatRunsAndAReport) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  QFORGE_REQUIRE_SHARED(text, "data/wikitext-2/wiki.valid.tokens");
  qforge::testing::TempDir dir;
  const std::string out = dir.file("q.gguf"), report = dir.file("r.json");
  const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' --method gptq --bits 4 --group-size 32 --asym --calib '" +
                          text.string() + "' --calib-samples 8 --calib-seqlen 64 --report '" + report + "'");
  ASSERT_EQ(q.code, 0) << q.out;
  EXPECT_TRUE(contains(q.out, "with gptq on q4_1 grids")) << q.out;
  EXPECT_TRUE(contains(q.out, "8 windows of 64 tokens from")) << q.out;
  EXPECT_TRUE(contains(q.out, "ffn_down")) << q.out;
  EXPECT_TRUE(contains(q.out, "kept in f16")) << q.out;
  std::ifstream r(report);
  const std::string json((std::istreambuf_iterator<char>(r)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(json, "\"rtn_output_error\"")) << json.substr(0, 400);
  EXPECT_TRUE(contains(json, "\"name\": \"blk.4.ffn_up.weight\"")) << json.substr(0, 400);
  const CliResult g = run("run '" + out + "' -p 'Once upon a time' -n 8");
  ASSERT_EQ(g.code, 0) << g.out;
  const CliResult info = run("info '" + out + "' --json");
  EXPECT_TRUE(contains(info.out, "\"q4_1\"")) << info.out;
}

TEST(CliModels, QuantizeFollowsARecipe) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const std::string recipe = dir.file("r.json"), out = dir.file("q.gguf");
  std::ofstream(recipe) << R"({"rules": [{"match": "blk.*.attn_v.weight", "type": "q8_0"},
                                         {"match": "blk.0.*", "keep": true},
                                         {"match": "token_embd.weight", "type": "q8_0"}]})";
  const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' --type q4_0 --recipe '" + recipe + "'");
  ASSERT_EQ(q.code, 0) << q.out;
  const CliResult info = run("info '" + out + "' --tensors");
  ASSERT_EQ(info.code, 0) << info.out;
  const auto type_of = [&](const std::string& name) {
    const size_t at = info.out.find(name + " ");
    return at == std::string::npos ? std::string() : info.out.substr(at, info.out.find('\n', at) - at);
  };
  EXPECT_TRUE(contains(type_of("blk.1.attn_q.weight"), "q4_0")) << info.out;
  EXPECT_TRUE(contains(type_of("blk.1.attn_v.weight"), "q8_0")) << info.out;
  EXPECT_TRUE(contains(type_of("blk.0.attn_q.weight"), "f16")) << info.out;
  EXPECT_TRUE(contains(type_of("token_embd.weight"), "q8_0")) << info.out;
  EXPECT_EQ(run("run '" + out + "' -n 4").code, 0);
}

TEST(CliModels, QuantizeRefusesWhatItCannotWriteAndLeavesNothing) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const std::string out = dir.file("q.gguf");
  for (const auto& [args, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--bits 3 --group-size 128", "int3 sym G=128 has no GGUF block type; write qforge's checkpoint (-o OUT.safetensors)"},
           {"--type q6_k", "no quantization grid for GGUF type q6_k; supported: q8_0, q4_0, q4_1, q5_0, q5_1"},
           {"--method spqr", "unknown method 'spqr'; supported: rtn, gptq, awq, hqq, nf4, bitnet"},
           {"--method hqq --type q4_0", "hqq optimises a float zero point; q4_0 has none (use q4_1 or q5_1)"},
           {"--method nf4", "method nf4 has no GGUF block type here; write qforge's checkpoint"},
           {"--method bitnet --bits 2", "method bitnet fixes the grid (ternary, one γ per tensor)"},
           {"--double-quant", "double quant applies to method nf4"},
           {"--type q4_0 --bits 4", "give a type or bits/group size/sym, not both"},
           {"--method gptq --calib /nonexistent.txt", "/nonexistent.txt"},
           {"--damp 2", "--damp wants a number in [0.000000, 1.000000], got '2'"}}) {
    const CliResult r = run("quantize '" + bin.string() + "' -o '" + out + "' " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
  const CliResult st = run("quantize '" + bin.string() + "' -o '" + dir.file("q.onnx") + "'");
  EXPECT_EQ(st.code, 1);
  EXPECT_TRUE(contains(st.out, "supported: .gguf (GGUF block types), .safetensors (qforge's checkpoint, any grid)")) << st.out;
}

TEST(CliModels, QuantizeW8A8ModesWriteCheckpointsThatRun) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const std::string out = dir.file("w8a8.safetensors"), report = dir.file("r.json");
  for (const auto& [args, shown] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--method dynamic", "a8 dynamic"},
           {"--method dynamic --reduce-range", "a7 dynamic"},
           {"--method llm-int8 --threshold 4", "a8 llm-int8"},
           {"--method static --observer kl --calib random --calib-samples 4 --calib-seqlen 64 --report '" + report + "'", "a8 static"}}) {
    const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' " + args);
    ASSERT_EQ(q.code, 0) << q.out;
    EXPECT_TRUE(contains(run("info '" + out + "'").out, "int8 sym per-channel, " + shown)) << args;
    EXPECT_EQ(run("run '" + out + "' -p 'Once upon a time' -n 4").code, 0) << args;
  }
  std::ifstream in(report);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(text, "\"observer\": \"kl\"")) << text;
  for (const auto& [args, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--method static -o '" + dir.file("x.gguf") + "'", "--method static writes qforge's checkpoint"},
           {"--method dynamic --bits 4 -o '" + out + "'", "stores int8 sym per-channel weights"},
           {"--method llm-int8 --reduce-range -o '" + out + "'", "--reduce-range (7-bit activation codes) applies to --method static, dynamic"},
           {"--method rtn --reduce-range -o '" + out + "'", "--reduce-range (7-bit activation codes) applies to --method static, dynamic"},
           {"--method static --observer entropy -o '" + out + "'", "unknown observer 'entropy'; supported: minmax, moving-average, percentile, mse, kl"}}) {
    const CliResult r = run("quantize '" + bin.string() + "' " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
  }
}

TEST(CliModels, QuantizeFloatModesAndFp8WriteModelsThatRun) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  for (const auto& [args, file, shown] : std::initializer_list<std::tuple<std::string, std::string, std::string>>{
           {"--method fp16", "h.gguf", "f16"},
           {"--method bf16", "b.safetensors", "bf16"},
           {"--method fp8", "w.safetensors", "fp8 e4m3 per-channel"},
           {"--method fp8 --group-size 32", "g.safetensors", "fp8 e4m3 G=32"},
           {"--method fp8 --act fp8 --calib random --calib-samples 4 --calib-seqlen 64", "a.safetensors", "fp8 e4m3 per-channel, a8 fp8"}}) {
    const std::string out = dir.file(file);
    const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' " + args);
    ASSERT_EQ(q.code, 0) << q.out;
    EXPECT_TRUE(contains(run("info '" + out + "' --tensors").out, shown)) << args;
    EXPECT_EQ(run("run '" + out + "' -p 'Once upon a time' -n 4").code, 0) << args;
  }
  const std::string out = dir.file("x.safetensors");
  for (const auto& [args, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--method fp16 --bits 4", "--method fp16 narrows every float tensor; it takes no grid"},
           {"--method fp8 --bits 4", "method fp8 fixes the grid"},
           {"--method fp8 --act static", "--method fp8 takes --act fp8 (e4m3 activations), not static"},
           {"--method dynamic --act fp8", "--act applies to --method smoothquant and fp8"}}) {
    const CliResult r = run("quantize '" + bin.string() + "' -o '" + out + "' " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
  const CliResult g = run("quantize '" + bin.string() + "' -o '" + dir.file("x.gguf") + "' --method fp8");
  EXPECT_EQ(g.code, 1);
  EXPECT_TRUE(contains(g.out, "method fp8 has no GGUF block type")) << g.out;
}

TEST(CliModels, QuantizeToAGptqFolderThatRunsAndRefusesWhatItCannotHold) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const std::string out = dir.file("gptq");
  // stories260K's 172-wide FFN fills int32 words only at 8 bits
  const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' --format gptq --bits 8 --group-size 32 --sym");
  ASSERT_EQ(q.code, 0) << q.out;
  EXPECT_TRUE(std::filesystem::exists(out + "/quantize_config.json"));
  const CliResult info = run("info '" + out + "'");
  EXPECT_TRUE(contains(info.out, "hf-folder")) << info.out;
  EXPECT_TRUE(contains(info.out, "int8 sym G=32   35 tensors")) << info.out;
  const CliResult g = run("run '" + out + "' -p 'Once upon a time' -n 4");  // the vocabulary travels in the metadata
  EXPECT_EQ(g.code, 0) << g.out;
  const std::string out2 = dir.file("gptq2");
  for (const auto& [args, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--format gptq --bits 4", "--format gptq cannot hold blk.0.ffn_gate.weight [172, 64]: 172 output rows × 4 bits"},
           {"--format gptq --bits 8 --asym", "use --sym, or --format gptq_v2"},
           {"--format gptq --method hqq --bits 8", "integer grids with zero points"},
           {"--format awq", "--format 'awq' is not supported; supported: gptq, gptq_v2"}}) {
    const CliResult r = run("quantize '" + bin.string() + "' -o '" + out2 + "' " + args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_TRUE(contains(r.out, expect)) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
    EXPECT_FALSE(std::filesystem::exists(out2)) << args;
  }
  const CliResult o = run("quantize '" + bin.string() + "' -o '" + dir.file("x.gguf") + "' --format gptq");
  EXPECT_TRUE(contains(o.out, "--format gptq writes a folder")) << o.out;
}

TEST(CliModels, QuantizeToQforgesCheckpointTakesAnyGrid) {
  QFORGE_REQUIRE_SHARED(bin, "models/stories260K/stories260K.bin");
  qforge::testing::TempDir dir;
  const std::string out = dir.file("q.safetensors");
  const CliResult q = run("quantize '" + bin.string() + "' -o '" + out + "' --bits 2 --group-size 0 --asym");
  ASSERT_EQ(q.code, 0) << q.out;
  EXPECT_TRUE(contains(q.out, "with rtn on int2 asym per-channel grids")) << q.out;
  const CliResult info = run("info '" + out + "'");
  EXPECT_TRUE(contains(info.out, "int2 asym per-channel   35 tensors")) << info.out;
  const CliResult g = run("run '" + out + "' -p 'Once upon a time' -n 4");
  EXPECT_EQ(g.code, 0) << g.out;
  for (const auto& [args, grid] : std::initializer_list<std::pair<std::string, std::string>>{
           {"--method nf4 --double-quant", "with nf4 on nf4+dq G=64 grids"}, {"--method bitnet", "with bitnet on ternary grids"},
           {"--method hqq --bits 3", "with hqq on int3 min G=64 grids"},
           {"--method hqq --hqq-axis 0 --hqq-scale", "with hqq on int4 min G=64 grids"},
           {"--method awq --bits 4 --group-size 32 --calib random --calib-samples 4 --calib-seqlen 32", "with awq on int4 sym G=32 grids"}}) {
    const std::string o2 = dir.file("m.safetensors");
    const CliResult r = run("quantize '" + bin.string() + "' -o '" + o2 + "' " + args);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(contains(r.out, grid)) << r.out;
    EXPECT_EQ(run("run '" + o2 + "' -n 4").code, 0) << args;
  }
}

// A corrupt input gives one line naming the file, a non-zero exit, and no output file.
TEST(CliModels, CorruptInputLeavesNothingBehind) {
  qforge::testing::TempDir dir;
  const std::string bad = dir.file("bad.gguf");
  const uint8_t bytes[] = {'G', 'G', 'U', 'F', 99, 0, 0, 0};  // version 99
  qforge::testing::write_bytes(bad, bytes);
  const std::string out = dir.file("out.safetensors");
  const CliResult r = run("convert '" + bad + "' -o '" + out + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.out, "bad.gguf: version: 99 is not supported")) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "no temporary left behind";
  const CliResult t = run("convert '" + bad + "' -o '" + dir.file("x.bin") + "'");
  EXPECT_TRUE(contains(t.out, "version")) << t.out;  // the input is read (and refused) first
}

}  // namespace
