#include "jinja/interpreter.hpp"

#include "jinja/error.hpp"

namespace radixrt::jinja::detail {

const value* frame::find(const std::string& name) const {
    for (const frame* f = this; f != nullptr; f = f->parent.get()) {
        for (const auto& [k, v] : f->vars) {
            if (k == name) {
                return &v;
            }
        }
    }
    return nullptr;
}

void frame::set(const std::string& name, value v) {
    for (auto& [k, x] : vars) {
        if (k == name) {
            x = std::move(v);
            return;
        }
    }
    vars.emplace_back(name, std::move(v));
}

std::string interpreter::run(const program& p, frame_ptr globals) {
    std::string out;
    out_ = &out;
    auto top = std::make_shared<frame>();
    top->parent = std::move(globals);
    exec(p.root, top);
    return out;
}

void interpreter::tick() {
    if (++steps_ > opt_.max_steps) {
        throw error(error_kind::limit, "the template exceeded its budget of " +
                                           std::to_string(opt_.max_steps) + " steps");
    }
}

void interpreter::check_size(std::size_t n) const {
    if (n > opt_.max_output_bytes) {
        throw error(error_kind::limit, "the template's output exceeded " +
                                           std::to_string(opt_.max_output_bytes) + " bytes");
    }
}

void interpreter::emit(const std::string& s) {
    check_size(out_->size() + s.size());
    *out_ += s;
}

flow interpreter::exec(const body& b, const frame_ptr& f) {
    for (const auto& s : b) {
        const flow r = exec_one(*s, f);
        if (r != flow::normal) {
            return r;
        }
    }
    return flow::normal;
}

flow interpreter::exec_one(const stmt& s, const frame_ptr& f) {
    tick();
    try {
        switch (s.kind) {
        case skind::text:
            emit(s.text);
            return flow::normal;
        case skind::output: {
            const value v = eval(*s.e, f);
            emit(to_str(v));
            return flow::normal;
        }
        case skind::if_:
            for (const auto& [cond, b] : s.branches) {
                if (!cond || eval(*cond, f).truthy()) {
                    return exec(b, f);
                }
            }
            return flow::normal;
        case skind::for_:
            return exec_for(s, f);
        case skind::set:
        case skind::set_block:
            exec_set(s, f);
            return flow::normal;
        case skind::macro:
            f->set(s.text, make_macro(s, f, s.text));
            return flow::normal;
        case skind::call_block: {
            const value caller = make_macro(s, f, "caller");
            const expr& c = *s.e;
            value fn = eval(*c.kids[0], f);
            call_args a = eval_args(c, f, 1);
            a.kwargs.emplace_back("caller", caller);
            emit(to_str(call(fn, a)));
            return flow::normal;
        }
        case skind::break_:
            return flow::break_;
        case skind::continue_:
            return flow::continue_;
        case skind::generation:
            return exec(s.children, f);
        }
    } catch (const error& e) {
        throw e.located(s.line, s.column);
    }
    return flow::normal;
}

flow interpreter::exec_for(const stmt& s, const frame_ptr& f) {
    const value seq = eval(*s.e, f);
    list items = iterate(seq);
    if (s.cond) {
        list kept;
        for (auto& x : items) {
            tick();
            auto probe = std::make_shared<frame>();
            probe->parent = f;
            if (s.targets.size() == 1) {
                probe->set(s.targets[0], x);
            } else {
                const list parts = iterate(x);
                for (std::size_t i = 0; i < s.targets.size(); ++i) {
                    probe->set(s.targets[i],
                               i < parts.size()
                                   ? parts[i]
                                   : value::undefined("'" + s.targets[i] + "' is undefined"));
                }
            }
            if (eval(*s.cond, probe).truthy()) {
                kept.push_back(std::move(x));
            }
        }
        items = std::move(kept);
    }
    if (items.empty()) {
        auto scope = std::make_shared<frame>();
        scope->parent = f;
        exec(s.else_body, scope);
        return flow::normal;
    }
    const auto n = std::int64_t(items.size());
    for (std::int64_t i = 0; i < n; ++i) {
        auto scope = std::make_shared<frame>();
        scope->parent = f;
        const value& x = items[std::size_t(i)];
        if (s.targets.size() == 1) {
            scope->set(s.targets[0], x);
        } else {
            const list parts = iterate(x);
            if (parts.size() != s.targets.size()) {
                throw error(error_kind::runtime,
                            "cannot unpack " + std::to_string(parts.size()) + " values into " +
                                std::to_string(s.targets.size()) + " loop variables");
            }
            for (std::size_t k = 0; k < parts.size(); ++k) {
                scope->set(s.targets[k], parts[k]);
            }
        }
        auto loop = value::make_dict();
        auto& d = loop.as_dict();
        d.set("index", i + 1);
        d.set("index0", i);
        d.set("revindex", n - i);
        d.set("revindex0", n - i - 1);
        d.set("first", i == 0);
        d.set("last", i == n - 1);
        d.set("length", n);
        d.set("depth", 1);
        d.set("depth0", 0);
        d.set("previtem",
              i > 0 ? items[std::size_t(i - 1)] : value::undefined("there is no previous item"));
        d.set("nextitem",
              i + 1 < n ? items[std::size_t(i + 1)] : value::undefined("there is no next item"));
        scope->set("loop", loop);
        if (exec(s.children, scope) == flow::break_) {
            break;
        }
    }
    return flow::normal;
}

void interpreter::exec_set(const stmt& s, const frame_ptr& f) {
    value v;
    if (s.kind == skind::set_block) {
        std::string buf;
        std::string* saved = out_;
        out_ = &buf;
        try {
            exec(s.children, f);
        } catch (...) {
            out_ = saved;
            throw;
        }
        out_ = saved;
        v = value(std::move(buf));
    } else {
        v = eval(*s.e, f);
    }
    if (!s.attr.empty()) {
        const value* ns = f->find(s.targets[0]);
        if (ns == nullptr || !ns->is_dict() || !ns->as_dict().is_namespace) {
            throw error(error_kind::runtime, "cannot assign attribute on non-namespace object");
        }
        ns->as_dict().set(value(s.attr), std::move(v));
        return;
    }
    if (s.targets.size() == 1) {
        f->set(s.targets[0], std::move(v));
        return;
    }
    const list parts = iterate(v);
    if (parts.size() != s.targets.size()) {
        throw error(error_kind::runtime, "cannot unpack " + std::to_string(parts.size()) +
                                             " values into " + std::to_string(s.targets.size()) +
                                             " names");
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
        f->set(s.targets[i], parts[i]);
    }
}

value interpreter::make_macro(const stmt& s, const frame_ptr& f, const std::string& name) {
    auto c = std::make_shared<callable>();
    c->name = name;
    std::weak_ptr<frame> def = f; // weak: the frame holds the macro (no cycle)
    const stmt* body = &s;
    c->fn = [this, body, def](call_args& a) {
        value caller;
        for (auto it = a.kwargs.begin(); it != a.kwargs.end(); ++it) {
            if (it->first == "caller") {
                caller = it->second;
                a.kwargs.erase(it);
                break;
            }
        }
        return call_macro(*body, def, a, caller);
    };
    return value(std::move(c));
}

value interpreter::call_macro(const stmt& s, const std::weak_ptr<frame>& def, call_args& a,
                              const value& caller) {
    auto parent = def.lock();
    if (!parent) {
        throw error(error_kind::runtime, "a macro was called outside the scope it was defined in");
    }
    if (++call_depth_ > opt_.max_call_depth) {
        --call_depth_;
        throw error(error_kind::limit,
                    "macro calls nest deeper than " + std::to_string(opt_.max_call_depth));
    }
    auto scope = std::make_shared<frame>();
    scope->parent = parent;
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    try {
        list varargs;
        for (std::size_t i = 0; i < a.args.size(); ++i) {
            if (i < s.params.size()) {
                scope->set(s.params[i].first, a.args[i]);
            } else {
                varargs.push_back(a.args[i]);
            }
        }
        auto kwargs = value::make_dict();
        for (auto& [k, v] : a.kwargs) {
            bool known = false;
            for (const auto& p : s.params) {
                known = known || p.first == k;
            }
            if (known) {
                scope->set(k, v);
            } else {
                kwargs.as_dict().set(value(k), v);
            }
        }
        for (std::size_t i = a.args.size(); i < s.params.size(); ++i) {
            const auto& [pname, def_expr] = s.params[i];
            bool given = false;
            for (const auto& kv : a.kwargs) {
                given = given || kv.first == pname;
            }
            if (!given) {
                scope->set(pname, def_expr ? eval(*def_expr, scope)
                                           : value::undefined("'" + pname + "' is undefined"));
            }
        }
        scope->set("varargs", value::make_list(std::move(varargs)));
        scope->set("kwargs", kwargs);
        if (!caller.is_undefined()) {
            scope->set("caller", caller);
        }
        exec(s.children, scope);
    } catch (...) {
        out_ = saved;
        --call_depth_;
        throw;
    }
    out_ = saved;
    --call_depth_;
    return value(std::move(buf));
}

value interpreter::call(const value& fn, call_args& args) {
    if (!fn.is_callable()) {
        if (fn.is_undefined()) {
            fail_undefined(fn);
        }
        throw error(error_kind::runtime,
                    std::string("'") + fn.type_name() + "' object is not callable");
    }
    return std::get<callable_ptr>(fn.v)->fn(args);
}

} // namespace radixrt::jinja::detail
