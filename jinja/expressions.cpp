// Expression evaluation (interpreter's second half).
#include "jinja/error.hpp"
#include "jinja/interpreter.hpp"

namespace radixrt::jinja::detail {

value interpreter::eval(const expr& e, const frame_ptr& f) {
    tick();
    try {
        return eval_inner(e, f);
    } catch (const error& x) {
        throw x.located(e.line, e.column);
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& x) { // a builtin's type error
        throw error(error_kind::runtime, x.what(), e.line, e.column);
    }
}

call_args interpreter::eval_args(const expr& e, const frame_ptr& f, std::size_t first) {
    call_args a;
    for (std::size_t i = first; i < e.kids.size(); ++i) {
        a.args.push_back(eval(*e.kids[i], f));
    }
    for (const auto& [k, x] : e.kwargs) {
        a.kwargs.emplace_back(k, eval(*x, f));
    }
    return a;
}

value interpreter::eval_inner(const expr& e, const frame_ptr& f) {
    switch (e.kind) {
    case ekind::literal:
        return e.lit;
    case ekind::name: {
        const value* v = f->find(e.name);
        return v != nullptr ? *v : value::undefined("'" + e.name + "' is undefined");
    }
    case ekind::list:
    case ekind::tuple: {
        list l;
        for (const auto& k : e.kids) {
            l.push_back(eval(*k, f));
        }
        value v = value::make_list(std::move(l));
        v.is_tuple = e.kind == ekind::tuple;
        return v;
    }
    case ekind::dict: {
        auto d = value::make_dict();
        for (std::size_t i = 0; i + 1 < e.kids.size(); i += 2) {
            value k = eval(*e.kids[i], f);
            d.as_dict().set(std::move(k), eval(*e.kids[i + 1], f));
        }
        return d;
    }
    case ekind::attr:
        return get_attr(eval(*e.kids[0], f), e.name);
    case ekind::subscript:
        return get_item(eval(*e.kids[0], f), eval(*e.kids[1], f));
    case ekind::slice:
        return eval_slice(e, f);
    case ekind::call: {
        const value fn = eval(*e.kids[0], f);
        call_args a = eval_args(e, f, 1);
        return call(fn, a);
    }
    case ekind::filter: {
        const value x = eval(*e.kids[0], f);
        call_args a = eval_args(e, f, 1);
        return apply_filter(*this, e.name, x, a);
    }
    case ekind::test: {
        const value x = eval(*e.kids[0], f);
        call_args a = eval_args(e, f, 1);
        return value(apply_test(*this, e.name, x, a) != e.negated);
    }
    case ekind::unary: {
        const value x = eval(*e.kids[0], f);
        if (e.name == "not") {
            return value(!x.truthy());
        }
        if (x.is_undefined()) {
            fail_undefined(x);
        }
        if (x.is_int() || x.is_bool()) {
            const std::int64_t i = x.is_int() ? x.as_int() : std::int64_t(x.truthy());
            return e.name == "-" ? value(std::int64_t(0 - std::uint64_t(i))) : value(i);
        }
        if (x.is_float()) {
            return e.name == "-" ? value(-x.as_number()) : x;
        }
        throw error(error_kind::runtime, std::string("bad operand type for unary ") + e.name +
                                             ": '" + x.type_name() + "'");
    }
    case ekind::binary:
        return eval_binary(e, f);
    case ekind::compare:
        return eval_compare(e, f);
    case ekind::cond:
        if (eval(*e.kids[1], f).truthy()) {
            return eval(*e.kids[0], f);
        }
        return e.kids[2] ? eval(*e.kids[2], f) : value::undefined("the conditional had no else");
    }
    return value();
}

value interpreter::eval_binary(const expr& e, const frame_ptr& f) {
    value a = eval(*e.kids[0], f);
    if (e.name == "and") {
        return a.truthy() ? eval(*e.kids[1], f) : a;
    }
    if (e.name == "or") {
        return a.truthy() ? a : eval(*e.kids[1], f);
    }
    const value b = eval(*e.kids[1], f);
    if (e.name == "~") {
        std::string s = to_str(a);
        check_size(s.size() + to_str(b).size());
        return value(s + to_str(b));
    }
    value r = binary_op(e.name, a, b, opt_.max_output_bytes);
    if (r.is_string()) {
        check_size(r.str().size());
    } else if (r.is_list()) {
        check_size(r.as_list().size() * sizeof(value));
    }
    return r;
}

value interpreter::eval_compare(const expr& e, const frame_ptr& f) {
    value a = eval(*e.kids[0], f);
    for (std::size_t i = 0; i < e.ops.size(); ++i) {
        value b = eval(*e.kids[i + 1], f);
        const std::string& op = e.ops[i];
        bool ok;
        if (op == "==") {
            ok = a == b;
        } else if (op == "!=") {
            ok = !(a == b);
        } else if (op == "in") {
            ok = contains(b, a);
        } else if (op == "not in") {
            ok = !contains(b, a);
        } else {
            const int c = compare_values(a, b);
            ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
        }
        if (!ok) {
            return value(false);
        }
        a = std::move(b);
    }
    return value(true);
}

namespace {

// Python's slice index normalisation for a sequence of length n.
void slice_indices(std::int64_t n, const value& lo, const value& hi, std::int64_t step,
                   std::int64_t& start, std::int64_t& stop) {
    const auto norm = [n, step](const value& v, std::int64_t def) {
        if (v.is_undefined() || v.is_none()) {
            return def;
        }
        if (!v.is_int()) {
            throw std::runtime_error("slice indices must be integers or None");
        }
        std::int64_t i = v.as_int();
        if (i < 0) {
            i += n;
            if (i < 0) {
                i = step < 0 ? -1 : 0;
            }
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    };
    start = norm(lo, step < 0 ? n - 1 : 0);
    stop = norm(hi, step < 0 ? -1 : n);
}

} // namespace

value interpreter::eval_slice(const expr& e, const frame_ptr& f) {
    const value x = eval(*e.kids[0], f);
    const value lo = e.kids[1] ? eval(*e.kids[1], f) : value();
    const value hi = e.kids[2] ? eval(*e.kids[2], f) : value();
    const value st = e.kids[3] ? eval(*e.kids[3], f) : value();
    std::int64_t step = 1;
    if (!st.is_undefined() && !st.is_none()) {
        if (!st.is_int() || st.as_int() == 0) {
            throw error(error_kind::runtime, "slice step must be a non-zero integer");
        }
        step = st.as_int();
    }
    if (x.is_undefined()) {
        fail_undefined(x);
    }
    if (x.is_generator) {
        throw error(error_kind::runtime, "'generator' object is not subscriptable");
    }
    list items;
    std::vector<std::string> chars;
    if (x.is_string()) {
        for (std::size_t i = 0; i < x.str().size();) {
            std::size_t n = 1;
            while (i + n < x.str().size() &&
                   (static_cast<unsigned char>(x.str()[i + n]) & 0xC0) == 0x80) {
                ++n;
            }
            chars.push_back(x.str().substr(i, n));
            i += n;
        }
    } else if (x.is_list()) {
        items = x.as_list();
    } else {
        throw error(error_kind::runtime,
                    std::string("'") + x.type_name() + "' object is not subscriptable");
    }
    const auto n = std::int64_t(x.is_string() ? chars.size() : items.size());
    std::int64_t start = 0, stop = 0;
    slice_indices(n, lo, hi, step, start, stop);
    std::string s;
    list out;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        tick();
        if (x.is_string()) {
            s += chars[std::size_t(i)];
        } else {
            out.push_back(items[std::size_t(i)]);
        }
    }
    if (x.is_string()) {
        return value(std::move(s));
    }
    value r = value::make_list(std::move(out));
    r.is_tuple = x.is_tuple;
    return r;
}

} // namespace radixrt::jinja::detail
