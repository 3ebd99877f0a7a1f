#include "jinja/parser.hpp"

#include <cstdlib>
#include <initializer_list>

#include "jinja/error.hpp"

namespace radixrt::jinja::detail {

namespace {

class parser {
  public:
    parser(const std::vector<token>& t, int max_depth) : t_(t), max_depth_(max_depth) {}

    body run() {
        std::string end;
        body b = parse_body({}, end);
        if (!at(tok::eof)) {
            fail("unexpected tag");
        }
        return b;
    }

  private:
    // --- token helpers
    const token& peek(std::size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    bool at(tok k) const { return peek().kind == k; }
    bool at_op(const char* o) const { return peek().kind == tok::op && peek().text == o; }
    bool at_name(const char* n) const { return peek().kind == tok::name && peek().text == n; }
    const token& next() { return t_[std::min(i_++, t_.size() - 1)]; }
    [[noreturn]] void fail(const std::string& m) const {
        const auto& t = peek();
        throw error(error_kind::syntax,
                    m + (t.kind == tok::eof ? " (at the end of the template)"
                         : t.text.empty()   ? ""
                                            : " near '" + t.text + "'"),
                    t.line, t.column);
    }
    void expect_op(const char* o) {
        if (!at_op(o)) {
            fail(std::string("expected '") + o + "'");
        }
        ++i_;
    }
    std::string expect_name() {
        if (!at(tok::name)) {
            fail("expected a name");
        }
        return next().text;
    }
    void expect_block_end() {
        if (!at(tok::block_end)) {
            fail("expected '%}'");
        }
        ++i_;
    }
    bool skip_op(const char* o) {
        if (at_op(o)) {
            ++i_;
            return true;
        }
        return false;
    }
    bool skip_name(const char* n) {
        if (at_name(n)) {
            ++i_;
            return true;
        }
        return false;
    }
    struct depth_guard {
        parser& p;
        explicit depth_guard(parser& q) : p(q) {
            if (++p.depth_ > p.max_depth_) {
                p.fail("the template nests too deeply");
            }
        }
        ~depth_guard() { --p.depth_; }
    };
    expr_ptr node(ekind k, const token& at) {
        auto e = std::make_unique<expr>();
        e->kind = k;
        e->line = at.line;
        e->column = at.column;
        return e;
    }

    // --- statements
    body parse_body(std::initializer_list<const char*> ends, std::string& found) {
        depth_guard g(*this);
        body b;
        while (!at(tok::eof)) {
            const token& t = peek();
            if (t.kind == tok::text) {
                auto s = std::make_unique<stmt>();
                s->kind = skind::text;
                s->text = t.text;
                ++i_;
                b.push_back(std::move(s));
            } else if (t.kind == tok::var_begin) {
                ++i_;
                auto s = std::make_unique<stmt>();
                s->kind = skind::output;
                s->line = t.line;
                s->column = t.column;
                s->e = parse_expression();
                if (!at(tok::var_end)) {
                    fail("expected '}}'");
                }
                ++i_;
                b.push_back(std::move(s));
            } else if (t.kind == tok::block_begin) {
                const token& n = peek(1);
                for (const char* e : ends) {
                    if (n.kind == tok::name && n.text == e) {
                        found = e;
                        i_ += 2;
                        return b;
                    }
                }
                ++i_;
                b.push_back(parse_statement());
            } else {
                fail("unexpected token");
            }
        }
        if (ends.size() != 0) {
            fail(std::string("missing '{% ") + *ends.begin() + " %}'");
        }
        return b;
    }

    stmt_ptr make_stmt(skind k, const token& t) {
        auto s = std::make_unique<stmt>();
        s->kind = k;
        s->line = t.line;
        s->column = t.column;
        return s;
    }

    stmt_ptr parse_statement() {
        const token& t = peek();
        if (t.kind != tok::name) {
            fail("expected a statement name");
        }
        const std::string n = next().text;
        if (n == "if") {
            return parse_if(t);
        }
        if (n == "for") {
            return parse_for(t);
        }
        if (n == "set") {
            return parse_set(t);
        }
        if (n == "macro" || n == "call") {
            return parse_macro(t, n == "call");
        }
        if (n == "break" || n == "continue") {
            expect_block_end();
            return make_stmt(n == "break" ? skind::break_ : skind::continue_, t);
        }
        if (n == "generation") {
            auto s = make_stmt(skind::generation, t);
            expect_block_end();
            std::string f;
            s->children = parse_body({"endgeneration"}, f);
            expect_block_end();
            return s;
        }
        --i_;
        fail("unknown or unsupported tag '" + n + "'");
    }

    stmt_ptr parse_if(const token& t) {
        auto s = make_stmt(skind::if_, t);
        expr_ptr cond = parse_expression();
        while (true) {
            expect_block_end();
            std::string f;
            body b = parse_body({"elif", "else", "endif"}, f);
            s->branches.emplace_back(std::move(cond), std::move(b));
            if (f == "endif") {
                break;
            }
            if (f == "else") {
                expect_block_end();
                body e = parse_body({"endif"}, f);
                s->branches.emplace_back(nullptr, std::move(e));
                break;
            }
            cond = parse_expression();
        }
        expect_block_end();
        return s;
    }

    stmt_ptr parse_for(const token& t) {
        auto s = make_stmt(skind::for_, t);
        do {
            s->targets.push_back(expect_name());
        } while (skip_op(","));
        if (!skip_name("in")) {
            fail("expected 'in'");
        }
        s->e = parse_or();
        if (skip_name("if")) {
            s->cond = parse_expression();
        }
        if (at_name("recursive")) {
            fail("recursive loops are not supported");
        }
        expect_block_end();
        std::string f;
        s->children = parse_body({"else", "endfor"}, f);
        if (f == "else") {
            expect_block_end();
            s->else_body = parse_body({"endfor"}, f);
        }
        expect_block_end();
        return s;
    }

    stmt_ptr parse_set(const token& t) {
        auto s = make_stmt(skind::set, t);
        s->targets.push_back(expect_name());
        if (skip_op(".")) {
            s->attr = expect_name();
        } else {
            while (skip_op(",")) {
                s->targets.push_back(expect_name());
            }
        }
        if (skip_op("=")) {
            s->e = parse_expression();
            expect_block_end();
            return s;
        }
        if (!s->attr.empty() || s->targets.size() != 1) {
            fail("expected '='");
        }
        s->kind = skind::set_block;
        expect_block_end();
        std::string f;
        s->children = parse_body({"endset"}, f);
        expect_block_end();
        return s;
    }

    void parse_params(stmt& s) {
        expect_op("(");
        while (!at_op(")")) {
            std::string p = expect_name();
            expr_ptr def;
            if (skip_op("=")) {
                def = parse_expression();
            }
            s.params.emplace_back(std::move(p), std::move(def));
            if (!skip_op(",")) {
                break;
            }
        }
        expect_op(")");
    }

    stmt_ptr parse_macro(const token& t, bool is_call) {
        auto s = make_stmt(is_call ? skind::call_block : skind::macro, t);
        if (is_call) {
            if (at_op("(")) {
                parse_params(*s);
            }
            s->e = parse_expression();
            if (s->e->kind != ekind::call) {
                fail("expected a call");
            }
        } else {
            s->text = expect_name();
            parse_params(*s);
        }
        expect_block_end();
        std::string f;
        s->children = parse_body({is_call ? "endcall" : "endmacro"}, f);
        if (at(tok::name)) {
            ++i_; // {% endmacro name %}
        }
        expect_block_end();
        return s;
    }

    // --- expressions, in jinja2's precedence order
  public:
    expr_ptr parse_expression() {
        depth_guard g(*this);
        expr_ptr e = parse_or();
        while (at_name("if")) {
            auto c = node(ekind::cond, next());
            c->kids.push_back(std::move(e));
            c->kids.push_back(parse_or());
            c->kids.push_back(skip_name("else") ? parse_expression() : nullptr);
            e = std::move(c);
        }
        return e;
    }

  private:
    expr_ptr binary(const char* op, const token& t, expr_ptr a, expr_ptr b) {
        auto e = node(ekind::binary, t);
        e->name = op;
        e->kids.push_back(std::move(a));
        e->kids.push_back(std::move(b));
        return e;
    }
    expr_ptr parse_or() {
        expr_ptr e = parse_and();
        while (at_name("or")) {
            const token& t = next();
            e = binary("or", t, std::move(e), parse_and());
        }
        return e;
    }
    expr_ptr parse_and() {
        expr_ptr e = parse_not();
        while (at_name("and")) {
            const token& t = next();
            e = binary("and", t, std::move(e), parse_not());
        }
        return e;
    }
    expr_ptr parse_not() {
        if (at_name("not")) {
            depth_guard g(*this);
            auto e = node(ekind::unary, next());
            e->name = "not";
            e->kids.push_back(parse_not());
            return e;
        }
        return parse_compare();
    }
    expr_ptr parse_compare() {
        expr_ptr first = parse_math1();
        expr_ptr cmp;
        while (true) {
            std::string op;
            const token& t = peek();
            if (t.kind == tok::op && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                      t.text == ">" || t.text == "<=" || t.text == ">=")) {
                op = next().text;
            } else if (at_name("in")) {
                ++i_;
                op = "in";
            } else if (at_name("not") && peek(1).kind == tok::name && peek(1).text == "in") {
                i_ += 2;
                op = "not in";
            } else {
                break;
            }
            if (!cmp) {
                cmp = node(ekind::compare, t);
                cmp->kids.push_back(std::move(first));
            }
            cmp->ops.push_back(op);
            cmp->kids.push_back(parse_math1());
        }
        return cmp ? std::move(cmp) : std::move(first);
    }
    template <class Next>
    expr_ptr left_assoc(std::initializer_list<const char*> ops, Next next_level) {
        expr_ptr e = (this->*next_level)();
        while (true) {
            const char* hit = nullptr;
            for (const char* o : ops) {
                if (at_op(o)) {
                    hit = o;
                }
            }
            if (hit == nullptr) {
                return e;
            }
            const token& t = next();
            e = binary(hit, t, std::move(e), (this->*next_level)());
        }
    }
    expr_ptr parse_math1() { return left_assoc({"+", "-"}, &parser::parse_concat); }
    expr_ptr parse_concat() { return left_assoc({"~"}, &parser::parse_math2); }
    expr_ptr parse_math2() { return left_assoc({"*", "/", "//", "%"}, &parser::parse_pow); }
    expr_ptr parse_pow() { return left_assoc({"**"}, &parser::parse_unary_f); }
    expr_ptr parse_unary_f() { return parse_unary(true); }

    expr_ptr parse_unary(bool with_filter) {
        depth_guard g(*this);
        expr_ptr e;
        if (at_op("-") || at_op("+")) {
            e = node(ekind::unary, peek());
            e->name = next().text;
            e->kids.push_back(parse_unary(false));
        } else {
            e = parse_primary();
        }
        e = parse_postfix(std::move(e));
        return with_filter ? parse_filters(std::move(e)) : std::move(e);
    }

    expr_ptr parse_primary();
    expr_ptr parse_postfix(expr_ptr e);
    expr_ptr parse_filters(expr_ptr e);
    void parse_call_args(expr& call);
    expr_ptr parse_subscript(expr_ptr target, const token& t);

    const std::vector<token>& t_;
    std::size_t i_ = 0;
    int depth_ = 0, max_depth_;
};

expr_ptr parser::parse_primary() {
    const token& t = peek();
    if (t.kind == tok::name) {
        ++i_;
        auto e = node(ekind::literal, t);
        if (t.text == "true" || t.text == "True") {
            e->lit = value(true);
        } else if (t.text == "false" || t.text == "False") {
            e->lit = value(false);
        } else if (t.text == "none" || t.text == "None") {
            e->lit = value(none_t{});
        } else {
            e->kind = ekind::name;
            e->name = t.text;
        }
        return e;
    }
    if (t.kind == tok::string) {
        auto e = node(ekind::literal, t);
        std::string s;
        while (at(tok::string)) {
            s += next().text;
        }
        e->lit = value(std::move(s));
        return e;
    }
    if (t.kind == tok::integer || t.kind == tok::floating) {
        ++i_;
        auto e = node(ekind::literal, t);
        if (t.kind == tok::integer) {
            errno = 0;
            const long long v = std::strtoll(t.text.c_str(), nullptr, 10);
            if (errno != 0) {
                --i_;
                fail("integer literal out of range");
            }
            e->lit = value(std::int64_t(v));
        } else {
            e->lit = value(std::strtod(t.text.c_str(), nullptr));
        }
        return e;
    }
    if (at_op("(")) {
        ++i_;
        auto tup = node(ekind::tuple, t);
        if (skip_op(")")) {
            return tup;
        }
        expr_ptr first = parse_expression();
        if (skip_op(")")) {
            return first;
        }
        tup->kids.push_back(std::move(first));
        while (skip_op(",") && !at_op(")")) {
            tup->kids.push_back(parse_expression());
        }
        expect_op(")");
        return tup;
    }
    if (at_op("[")) {
        ++i_;
        auto l = node(ekind::list, t);
        while (!at_op("]")) {
            l->kids.push_back(parse_expression());
            if (!skip_op(",")) {
                break;
            }
        }
        expect_op("]");
        return l;
    }
    if (at_op("{")) {
        ++i_;
        auto d = node(ekind::dict, t);
        while (!at_op("}")) {
            d->kids.push_back(parse_expression());
            expect_op(":");
            d->kids.push_back(parse_expression());
            if (!skip_op(",")) {
                break;
            }
        }
        expect_op("}");
        return d;
    }
    fail("unexpected token in an expression");
}

void parser::parse_call_args(expr& call) {
    expect_op("(");
    while (!at_op(")")) {
        if (at(tok::name) && peek(1).kind == tok::op && peek(1).text == "=") {
            std::string k = next().text;
            ++i_;
            call.kwargs.emplace_back(std::move(k), parse_expression());
        } else {
            if (!call.kwargs.empty()) {
                fail("positional argument after a keyword argument");
            }
            call.kids.push_back(parse_expression());
        }
        if (!skip_op(",")) {
            break;
        }
    }
    expect_op(")");
}

expr_ptr parser::parse_subscript(expr_ptr target, const token& t) {
    expr_ptr parts[3];
    int colons = 0;
    while (!at_op("]")) {
        if (skip_op(":")) {
            if (++colons > 2) {
                fail("too many ':' in a slice");
            }
            continue;
        }
        if (parts[colons]) {
            fail("expected ']'");
        }
        parts[colons] = parse_expression();
    }
    expect_op("]");
    if (colons == 0) {
        if (!parts[0]) {
            fail("empty subscript");
        }
        auto e = node(ekind::subscript, t);
        e->kids.push_back(std::move(target));
        e->kids.push_back(std::move(parts[0]));
        return e;
    }
    auto e = node(ekind::slice, t);
    e->kids.push_back(std::move(target));
    for (auto& p : parts) {
        e->kids.push_back(std::move(p));
    }
    return e;
}

expr_ptr parser::parse_postfix(expr_ptr e) {
    while (true) {
        const token& t = peek();
        if (skip_op(".")) {
            auto a = node(ekind::attr, t);
            if (at(tok::integer)) {
                a->kind = ekind::subscript;
                a->kids.push_back(std::move(e));
                a->kids.push_back(parse_primary());
            } else {
                a->name = expect_name();
                a->kids.push_back(std::move(e));
            }
            e = std::move(a);
        } else if (skip_op("[")) {
            e = parse_subscript(std::move(e), t);
        } else if (at_op("(")) {
            auto c = node(ekind::call, t);
            c->kids.push_back(std::move(e));
            parse_call_args(*c);
            e = std::move(c);
        } else {
            return e;
        }
    }
}

expr_ptr parser::parse_filters(expr_ptr e) {
    while (true) {
        const token& t = peek();
        if (skip_op("|")) {
            auto f = node(ekind::filter, t);
            f->name = expect_name();
            f->kids.push_back(std::move(e));
            if (at_op("(")) {
                parse_call_args(*f);
            }
            e = std::move(f);
        } else if (skip_name("is")) {
            auto x = node(ekind::test, t);
            x->negated = skip_name("not");
            x->name = expect_name();
            x->kids.push_back(std::move(e));
            const token& a = peek();
            if (at_op("(")) {
                parse_call_args(*x);
            } else if ((a.kind == tok::string || a.kind == tok::integer ||
                        a.kind == tok::floating || at_op("[") || at_op("{") ||
                        (a.kind == tok::name && a.text != "else" && a.text != "or" &&
                         a.text != "and" && a.text != "if"))) {
                x->kids.push_back(parse_postfix(parse_primary()));
            }
            e = std::move(x);
        } else if (at_op("(")) {
            auto c = node(ekind::call, t);
            c->kids.push_back(std::move(e));
            parse_call_args(*c);
            e = std::move(c);
        } else {
            return e;
        }
    }
}

} // namespace

body parse(const std::vector<token>& tokens, int max_depth) {
    return parser(tokens, max_depth).run();
}

} // namespace radixrt::jinja::detail
